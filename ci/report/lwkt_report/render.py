# SPDX-License-Identifier: BSD-3-Clause
"""report.md (a pull-request comment) and report.html (self-contained,
offline: inline SVG drawn by inline script from inline JSON)."""
import html
import json
import math
import os

from . import floors, stats


def pct(x, digits=1):
    if x is None:
        return "–"
    if x == math.inf:
        return "+∞"
    return "%+.*f %%" % (digits, 100 * x)


def ci_str(ci):
    if not ci:
        return "–"
    return "[%s, %s]" % (pct(ci[0]), pct(ci[1]))


def p_str(p):
    if p is None:
        return "–"
    return "%.1e" % p if p < 0.001 else "%.3f" % p


def fp_lines(rep):
    cfg = rep["config"]
    out = []
    a = rep.get("aa_inrun")
    claim = "claimed ≤ %g %% of benchmarks per A/A comparison" % (100 * cfg["claimed_fp"])
    parts = []
    if a and a["comparisons"]:
        parts.append("this run's A/A (alternate halves of the base side): %d of %d flagged%s"
                     % (a["alarms"], a["comparisons"],
                        (" (" + ", ".join(a["flagged"]) + ")") if a["flagged"] else ""))
    h = rep.get("aa_history")
    if h and h["comparisons"]:
        parts.append("A/A runs on record (%d runs): %d of %d = %.2f %%"
                     % (h["runs"], h["alarms"], h["comparisons"],
                        100.0 * h["alarms"] / h["comparisons"]))
    s = rep.get("aa_synthetic")
    if s:
        parts.append("synthetic calibration: %s" % s)
    if not parts:
        parts.append("not measured for this report (fewer than two base runs)")
    out.append("**False-positive rate**: %s; measured: %s." % (claim, "; ".join(parts)))
    return out


def verdict_rows(rep, verdict):
    return [r for r in rep["results"] if r.get("verdict") == verdict]


def markdown(rep):
    c = rep["counts"]
    cfg = rep["config"]
    L = []
    L.append("## lwkt-lab performance: `%s` vs `%s`" % (rep["head"]["label"], rep["base"]["label"]))
    L.append("")
    L.append("**%d SLOWER · %d FASTER · %d UNKNOWN · %d SAME** — values divided by the floor "
             "of the same run (to the power the benchmark follows it); a verdict needs the U test at α = %g **and** an effect of at "
             "least %g %%; effects are Hodges-Lehmann estimates with %g %% CIs (unit: %s)."
             % (c["SLOWER"], c["FASTER"], c["UNKNOWN"], c["SAME"], cfg["alpha"],
                100 * cfg["effect_floor"], 100 * cfg["level"], rep["unit"]))
    L.append("")
    L += fp_lines(rep)
    rl = rep.get("runlog")
    if rl:
        L.append("")
        L.append("Runs: %d interleaved rounds (%s), %d repetitions × %gs each, cpus %s; "
                 "%d extra round(s) of a budget of %d for UNKNOWN benchmarks; %ss."
                 % (rl["rounds"], rl["order"], rl["repetitions"], rl["min_time"],
                    rl["cpus"] or "default", rl["extra_rounds"], rl["budget_rounds"],
                    rl["seconds"]))
    if rep.get("load_note"):
        L.append("")
        L.append("> " + rep["load_note"])
    for title, v in (("Regressions (SLOWER)", stats.SLOWER), ("Improvements (FASTER)", stats.FASTER)):
        rows = verdict_rows(rep, v)
        if not rows:
            continue
        L.append("")
        L.append("### " + title)
        L.append("")
        L.append("| benchmark | effect | %g %% CI | p | floor | base × floor | head × floor |"
                 % (100 * cfg["level"]))
        L.append("|---|---:|---|---:|---|---:|---:|")
        for r in sorted(rows, key=lambda r: -abs(r["effect"])):
            L.append("| `%s` | %s | %s | %s | %s | %.3g | %.3g |"
                     % (r["key"], pct(r["effect"]), ci_str(r["ci"]), p_str(r["p"]),
                        r["floor"] or "raw", r["base_norm"], r["head_norm"]))
    unk = verdict_rows(rep, stats.UNKNOWN)
    if unk:
        # The most informative first (narrowest intervals); the rest in
        # report.html, to keep the comment short.
        unk = sorted(unk, key=lambda r: (r["ci"][1] - r["ci"][0]) if r["ci"] else math.inf)
        more = len(unk) - 12
        L.append("")
        L.append("**UNKNOWN** (%d, undecided within the budget): " % len(unk) + ", ".join(
            "`%s` %s %s%s" % (r["key"], pct(r["effect"]), ci_str(r["ci"]),
                              " (%s)" % r["reason"] if "raw_effect" in r else "")
            if r["effect"] is not None
            else "`%s` (%s)" % (r["key"], r["reason"]) for r in unk[:12]) +
            (" and %d more (report.html)" % more if more > 0 else ""))
    if rep["base_only"] or rep["head_only"] or rep["errors"]:
        L.append("")
        L.append("### Not compared")
        L.append("")
        if rep["base_only"]:
            L.append("- only in base: " + ", ".join("`%s`" % k for k in rep["base_only"]))
        if rep["head_only"]:
            L.append("- only in head: " + ", ".join("`%s`" % k for k in rep["head_only"]))
        for k, msgs in rep["errors"].items():
            L.append("- `%s` reported an error: %s" % (k, "; ".join(msgs[:2])))
    cg = rep.get("callgrind")
    if cg:
        L.append("")
        L.append("### Instructions per iteration (callgrind: deterministic, no statistics needed)")
        L.append("")
        L.append("| path | benchmark | base | head | change |")
        L.append("|---|---|---:|---:|---:|")
        for r in cg:
            ch = "–"
            if r.get("base") and r.get("head"):
                d = r["head"] - r["base"]
                ch = "same" if abs(d) < 0.05 else "%+.1f (%s)" % (d, pct(d / r["base"]))
            L.append("| %s | `%s` | %s | %s | %s |"
                     % (r["path"], r["benchmark"], _ir(r.get("base")), _ir(r.get("head")), ch))
    fl = [r for r in rep["results"] if r["is_floor"]]
    if fl:
        L.append("")
        L.append("### Floors (raw, this run: how the machine moved between sides)")
        L.append("")
        L.append("| floor | base | head | change | spread across runs |")
        L.append("|---|---:|---:|---:|---:|")
        for r in fl:
            sp = r.get("spread") or 1.0
            L.append("| `%s` | %s | %s | %s | ×%.3g%s |"
                     % (r["key"], ns(r["base_ns"]), ns(r["head_ns"]), pct(r["raw_change"]), sp,
                        " (unstable: no verdict on its ratios)" if sp > cfg["floor_spread"] else ""))
    rows = [r for r in rep["results"] if not r["is_floor"]]
    if rows:
        L.append("")
        L.append("<details><summary>Mechanism / floor table (%d benchmarks)</summary>" % len(rows))
        L.append("")
        L.append("| benchmark | floor | base × floor | head × floor | head ns | verdict |")
        L.append("|---|---|---:|---:|---:|---|")
        for r in rows:
            L.append("| `%s` | %s | %.3g | %.3g | %s | %s |"
                     % (r["key"], (r["floor"] or "raw").split("/")[-1], r["base_norm"],
                        r["head_norm"], ns(r["head_ns"]), r["verdict"]))
        L.append("")
        L.append("</details>")
    if rep.get("history_cps"):
        L.append("")
        L.append("**Change points on main** (t-test splits): " + "; ".join(
            "`%s` at %s (%s)" % (c["benchmark"], c["commit"][:10], pct(c["change"]))
            for c in rep["history_cps"][:10]))
    links = rep.get("links") or {}
    if links:
        L.append("")
        L.append("Links: " + " · ".join("[%s](%s)" % (k, v) for k, v in links.items()))
    L.append("")
    return "\n".join(L)


def _ir(v):
    return "–" if v is None else "%.1f" % v


def ns(v):
    if v is None:
        return "–"
    for unit, div in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if v >= div:
            return "%.3g %s" % (v / div, unit)
    return "%.3g ns" % v


def charts_spec(rep):
    """The charts report.html draws (the page's check counts them)."""
    charts = []
    byw = {}
    for r in rep["results"]:
        byw.setdefault(r["workload"] + (" @" + r["cell"] if r.get("cell") else ""),
                       []).append(r)
    for wl, rows in byw.items():
        mech = [r for r in rows if not r["is_floor"]]
        if not mech:
            continue
        used = [r["floor"] for r in mech if r["floor"]]
        fname = max(used, key=used.count) if used else None   # the workload's usual floor
        fl = next((r for r in rep["results"] if r["key"] == fname), None)
        charts.append({"kind": "bars", "title": wl, "floor": fname,
                       "floor_ns": [fl["base_ns"], fl["head_ns"]] if fl else None,
                       "bars": [{"key": r["key"], "base": r["base_ns"], "head": r["head_ns"],
                                 "verdict": r["verdict"]} for r in mech]})
    for hm in rep.get("matrix") or []:
        charts.append(dict(hm, kind="heatmap"))
    for s in rep.get("history") or []:
        charts.append(dict(s, kind="history"))
    return charts


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1300px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}
td:first-child,th:first-child{text-align:left}.SLOWER{color:#b00;font-weight:bold}
.FASTER{color:#070;font-weight:bold}.UNKNOWN{color:#a60}.SAME{color:#555}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #ddd;padding:4px}
.chart h3{font-size:.95em;margin:2px 4px}pre{max-height:20em;overflow:auto;background:#f6f6f6}
svg text{font:11px sans-serif}
"""

_JS = r"""
(function(){
var st=document.getElementById('status');
window.onerror=function(m){st.setAttribute('data-state','error');st.setAttribute('data-error',String(m));};
var D=JSON.parse(document.getElementById('data').textContent);
var NS='http://www.w3.org/2000/svg',drawn=0;
function el(n,a,p){var e=document.createElementNS(NS,n);for(var k in a)e.setAttribute(k,a[k]);if(p)p.appendChild(e);return e;}
function txt(p,x,y,s,a){var t=el('text',Object.assign({x:x,y:y},a||{}),p);t.textContent=s;return t;}
function fmt(v){var u=[['s',1e9],['ms',1e6],['\u00b5s',1e3]];for(var i=0;i<u.length;i++)if(v>=u[i][1])return (v/u[i][1]).toPrecision(3)+' '+u[i][0];return v.toPrecision(3)+' ns';}
function box(title){var d=document.createElement('div');d.className='chart';var h=document.createElement('h3');h.textContent=title;d.appendChild(h);document.getElementById(title.indexOf('history:')==0?'hist':'charts').appendChild(d);return d;}
var col={SLOWER:'#c33',FASTER:'#3a3',UNKNOWN:'#d90',SAME:'#69c'};
function bars(c){
  var d=box(c.title+(c.floor?' (line: '+c.floor+')':'')),n=c.bars.length,W=Math.max(260,100+n*46),H=250,L=56,B=70;
  var s=el('svg',{width:W,height:H},d),vals=[];
  c.bars.forEach(function(b){vals.push(b.base,b.head);});if(c.floor_ns)vals=vals.concat(c.floor_ns);
  var lo=Math.log10(Math.min.apply(null,vals))-0.2,hi=Math.log10(Math.max.apply(null,vals))+0.2;
  function y(v){return H-B-(Math.log10(v)-lo)/(hi-lo)*(H-B-10);}
  el('line',{x1:L,y1:10,x2:L,y2:H-B,stroke:'#888'},s);
  for(var e=Math.ceil(lo);e<=hi;e++){el('line',{x1:L-3,y1:y(Math.pow(10,e)),x2:W,y2:y(Math.pow(10,e)),stroke:'#eee'},s);txt(s,2,y(Math.pow(10,e))+4,fmt(Math.pow(10,e)));}
  var marks=0;
  c.bars.forEach(function(b,i){var x=L+8+i*46;
    [[b.base,'#9ab'],[b.head,col[b.verdict]||'#69c']].forEach(function(v,j){var yy=y(v[0]);
      var r=el('rect',{x:x+j*18,y:yy,width:16,height:Math.max(1,H-B-yy),fill:v[1]},s);
      el('title',{},r).textContent=b.key+(j?' head ':' base ')+fmt(v[0]);marks++;});
    var t=txt(s,x+16,H-B+8,b.key.split('/').slice(1).join('/'),{transform:'rotate(40 '+(x+16)+' '+(H-B+8)+')'});});
  if(c.floor_ns)c.floor_ns.forEach(function(v,j){el('line',{x1:L,x2:W,y1:y(v),y2:y(v),stroke:j?'#000':'#777','stroke-dasharray':j?'':'4 3','class':'floorline'},s);});
  return marks>0;}
function heat(c){
  var d=box(c.title),R=c.rows.length,C=c.cols.length,cw=70,ch=22,L=150,T=60;
  var s=el('svg',{width:L+C*cw+10,height:T+R*ch+10},d),mx=0,mn=Infinity,marks=0;
  c.values.forEach(function(r){r.forEach(function(v){if(v!=null){mx=Math.max(mx,v);mn=Math.min(mn,v);}});});
  c.cols.forEach(function(n,j){txt(s,L+j*cw+4,T-6,n,{transform:'rotate(-25 '+(L+j*cw+4)+' '+(T-6)+')'});});
  c.rows.forEach(function(n,i){txt(s,2,T+i*ch+15,n);c.values[i].forEach(function(v,j){
    if(v==null)return;var f=mx>mn?(Math.log(v)-Math.log(mn))/(Math.log(mx)-Math.log(mn)):0.5;
    var r=el('rect',{x:L+j*cw,y:T+i*ch,width:cw-2,height:ch-2,fill:'hsl('+(220-220*f)+',70%,55%)'},s);
    el('title',{},r).textContent=n+' / '+c.cols[j]+': '+v.toPrecision(3);txt(s,L+j*cw+4,T+i*ch+15,v.toPrecision(3));marks++;});});
  return marks>0;}
function hist(c){
  var d=box('history: '+c.benchmark),W=420,H=170,L=50,B=24,p=c.points,s=el('svg',{width:W,height:H},d);
  var vs=p.map(function(q){return q[2];}),lo=Math.min.apply(null,vs),hi=Math.max.apply(null,vs);if(hi==lo){hi=lo*1.05+1e-9;lo=lo*0.95;}
  function x(i){return L+(p.length>1?i/(p.length-1):0.5)*(W-L-10);}function y(v){return H-B-(v-lo)/(hi-lo)*(H-B-10);}
  txt(s,2,y(hi)+4,hi.toPrecision(3));txt(s,2,y(lo),lo.toPrecision(3));
  el('polyline',{points:p.map(function(q,i){return x(i)+','+y(q[2]);}).join(' '),fill:'none',stroke:'#36c'},s);
  var marks=0;p.forEach(function(q,i){var e=el('circle',{cx:x(i),cy:y(q[2]),r:2.5,fill:'#36c'},s);el('title',{},e).textContent=q[1].slice(0,10)+': '+q[2].toPrecision(4);marks++;});
  (c.change_points||[]).forEach(function(i){var xx=(x(i-1)+x(i))/2;el('line',{x1:xx,x2:xx,y1:5,y2:H-B,stroke:'#c00','stroke-width':2,'class':'changepoint'},s);txt(s,xx+3,14,'change',{fill:'#c00'});});
  txt(s,L,H-6,(c.unit||'')+' · '+p.length+' commits');
  return marks>0;}
var F={bars:bars,heatmap:heat,history:hist};
D.charts.forEach(function(c){try{if(F[c.kind](c))drawn++;}catch(e){st.setAttribute('data-state','error');st.setAttribute('data-error',String(e));}});
st.setAttribute('data-charts-drawn',String(drawn));
if(st.getAttribute('data-state')!=='error')st.setAttribute('data-state',drawn===D.charts.length?'ok':'incomplete');
st.textContent='charts drawn: '+drawn+' of '+D.charts.length;
})();
"""


def html_page(rep):
    e = html.escape
    charts = charts_spec(rep)
    data = json.dumps({"charts": charts}, allow_nan=False, default=str)
    # No markup can start inside the data block, whatever the names hold.
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    c = rep["counts"]
    cfg = rep["config"]
    P = []
    P.append("<!DOCTYPE html><html><head><meta charset='utf-8'>"
             "<title>lwkt-lab performance report</title><style>%s</style></head><body>" % _CSS)
    P.append("<h1>lwkt-lab performance: %s vs %s</h1>" % (e(rep["head"]["label"]), e(rep["base"]["label"])))
    P.append("<p><b>%d SLOWER · %d FASTER · %d UNKNOWN · %d SAME</b> — floor-normalised (divided by the floor to the power the benchmark follows it); "
             "U test α = %g and effect ≥ %g %%; Hodges-Lehmann effects with %g %% CIs; unit: %s.</p>"
             % (c["SLOWER"], c["FASTER"], c["UNKNOWN"], c["SAME"], cfg["alpha"],
                100 * cfg["effect_floor"], 100 * cfg["level"], e(rep["unit"])))
    for line in fp_lines(rep):
        P.append("<p>%s</p>" % e(line.replace("**", "")))
    if rep.get("load_note"):
        P.append("<p><i>%s</i></p>" % e(rep["load_note"]))
    P.append("<div id='status' data-state='loading' data-charts-expected='%d'>script did not run</div>"
             % len(charts))
    P.append("<h2>Verdicts</h2><table><tr><th>benchmark</th><th>verdict</th><th>effect</th>"
             "<th>%g %% CI</th><th>p</th><th>floor</th><th>base × floor</th><th>head × floor</th>"
             "<th>base</th><th>head</th><th>n</th></tr>" % (100 * cfg["level"]))
    order = {v: i for i, v in enumerate(stats.VERDICTS)}
    for r in sorted((r for r in rep["results"] if not r["is_floor"]),
                    key=lambda r: (order[r["verdict"]], r["key"])):
        P.append("<tr><td>%s</td><td class='%s'>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                 "<td>%s</td><td>%.3g</td><td>%.3g</td><td>%s</td><td>%s</td><td>%d/%d</td></tr>"
                 % (e(r["key"]), r["verdict"], r["verdict"], pct(r["effect"]), ci_str(r["ci"]),
                    p_str(r["p"]), e(r["floor"] or "raw"), r["base_norm"], r["head_norm"],
                    ns(r["base_ns"]), ns(r["head_ns"]), r["n_base"], r["n_head"]))
    P.append("</table>")
    if rep["base_only"] or rep["head_only"] or rep["errors"]:
        P.append("<h2>Not compared</h2><ul>")
        for k in rep["base_only"]:
            P.append("<li>only in base: %s</li>" % e(k))
        for k in rep["head_only"]:
            P.append("<li>only in head: %s</li>" % e(k))
        for k, m in rep["errors"].items():
            P.append("<li>%s: %s</li>" % (e(k), e("; ".join(m))))
        P.append("</ul>")
    P.append("<h2>Per workload (bars: base grey, head by verdict; lines: the floor, "
             "base dashed, head solid; log scale)</h2><div class='charts' id='charts'></div>")
    if rep.get("history"):
        P.append("<h2>History on main (ratio to floor; red: change points)</h2>"
                 "<div class='charts' id='hist'></div>")
    else:
        P.append("<div id='hist'></div>")
    cg = rep.get("callgrind")
    if cg:
        P.append("<h2>Instructions per iteration (callgrind)</h2><table><tr><th>path</th>"
                 "<th>benchmark</th><th>base</th><th>head</th></tr>")
        for r in cg:
            P.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
                     % (e(r["path"]), e(r["benchmark"]), _ir(r.get("base")), _ir(r.get("head"))))
        P.append("</table>")
    P.append("<h2>Floor of each benchmark</h2><table><tr><th>benchmarks</th><th>floor</th></tr>")
    for what, f in floors.table():
        P.append("<tr><td>%s</td><td>%s</td></tr>" % (e(what), e(f)))
    P.append("</table>")
    host = rep.get("host") or {}
    P.append("<h2>Host record</h2><table>")
    for k, v in host.items():
        if k == "hwloc_topology_xml":
            continue
        P.append("<tr><td>%s</td><td>%s</td></tr>" % (e(str(k)), e(json.dumps(v) if not isinstance(v, str) else v)))
    P.append("</table>")
    if host.get("hwloc_topology_xml"):
        P.append("<details><summary>hwloc topology</summary><pre>%s</pre></details>"
                 % e(host["hwloc_topology_xml"]))
    rl = rep.get("runlog")
    if rl:
        P.append("<h2>Run</h2><pre>%s</pre>" % e(json.dumps(rl, indent=1)))
    links = rep.get("links") or {}
    if links:
        P.append("<p>Files: %s</p>" % " · ".join(
            "<a href='%s'>%s</a>" % (e(v, quote=True), e(k)) for k, v in links.items()
            if k != "report.html"))
    P.append("<script type='application/json' id='data'>%s</script>" % data)
    P.append("<script>%s</script></body></html>" % _JS)
    return "\n".join(P)


def write(rep, outdir):
    os.makedirs(outdir, exist_ok=True)
    paths = {}
    for name, text in (("report.md", markdown(rep)), ("report.html", html_page(rep))):
        p = os.path.join(outdir, name)
        with open(p + ".tmp", "w") as f:
            f.write(text)
        os.replace(p + ".tmp", p)
        paths[name] = p
    slim = dict(rep)
    slim["results"] = [dict(r) for r in rep["results"]]
    p = os.path.join(outdir, "data.json")
    with open(p + ".tmp", "w") as f:
        json.dump(slim, f, indent=1, default=str)
    os.replace(p + ".tmp", p)
    paths["data.json"] = p
    return paths
