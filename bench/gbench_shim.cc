// SPDX-License-Identifier: BSD-3-Clause
// gbench_shim.cc - the one C++ file of lwkt-lab: google-benchmark behind the
// C API of gbench.h.  Every function is a thin forwarder; the hot loop lives
// in the GBENCH_LOOP macro, on the C side.
#include "gbench.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>

// Benchmark boundaries in traces (lwkt:bench_begin/bench_end): the viz
// splits its latency tables and stage breakdowns per benchmark.
#include "../lwkt/src/lwkt_trace.h"

using benchmark::Counter;
using benchmark::State;
using benchmark::internal::Benchmark;

#define GBENCH_SAME_FLAG(ours, theirs) \
  static_assert(static_cast<uint32_t>(ours) == static_cast<uint32_t>(theirs), #theirs)
GBENCH_SAME_FLAG(GBENCH_CTR_RATE, Counter::kIsRate);
GBENCH_SAME_FLAG(GBENCH_CTR_AVG_THREADS, Counter::kAvgThreads);
GBENCH_SAME_FLAG(GBENCH_CTR_AVG_ITERATIONS, Counter::kAvgIterations);
GBENCH_SAME_FLAG(GBENCH_CTR_INVERT, Counter::kInvert);

static State *S(gbench_state *st) { return reinterpret_cast<State *>(st); }
static const State *S(const gbench_state *st) {
  return reinterpret_cast<const State *>(st);
}
static Benchmark *B(gbench_family *f) { return reinterpret_cast<Benchmark *>(f); }
static gbench_family *F(Benchmark *b) { return reinterpret_cast<gbench_family *>(b); }

// Per family: its name and how many arguments its runs take (State has
// no accessor for either), for the run's name in the trace.
struct shim_family {
  std::string name;
  int nargs;
};
static std::map<Benchmark *, shim_family *> &shim_families() {
  // Never destroyed: the families live as long as the program, and a map
  // destroyed at exit leaves them unreachable (LeakSanitizer's report
  // failed every ASan run that exits without running a benchmark).
  static auto *m = new std::map<Benchmark *, shim_family *>;
  return *m;
}
static void shim_nargs(gbench_family *f, int n) {
  auto it = shim_families().find(B(f));
  if (it != shim_families().end() && it->second->nargs < n) it->second->nargs = n;
}

// One run of a benchmark, between bench_begin and bench_end (thread 0
// only; a site costs one branch when no session records it).
static void shim_run(gbench_fn fn, const shim_family *fam, State &st) {
  static uint64_t seq;
  const bool mark = st.thread_index() == 0 && LWKT_TRACE_ENABLED(bench_begin);
  char nm[512] = "";
  uint64_t run = 0;
  if (mark) {
    int w = snprintf(nm, sizeof(nm), "%s", fam->name.c_str());
    for (int i = 0; i < fam->nargs && w > 0 && static_cast<size_t>(w) < sizeof(nm); i++)
      w += snprintf(nm + w, sizeof(nm) - static_cast<size_t>(w), "/%lld",
                    static_cast<long long>(st.range(static_cast<std::size_t>(i))));
    if (st.threads() > 1 && w > 0 && static_cast<size_t>(w) < sizeof(nm))
      snprintf(nm + w, sizeof(nm) - static_cast<size_t>(w), "/threads:%d", st.threads());
    run = ++seq;
    LWKT_TRACE(bench_begin, nm, run);
  }
  fn(reinterpret_cast<gbench_state *>(&st));
  if (mark) LWKT_TRACE(bench_end, nm, run, static_cast<uint64_t>(st.iterations()));
}

extern "C" {

gbench_family *gbench_register(const char *name, gbench_fn fn) {
  // The lambda adapts the C signature; fn and the family are captured by
  // value (the family lives as long as the program).
  shim_family *fam = new shim_family{name, 0};
  Benchmark *b = benchmark::RegisterBenchmark(
      name, [fn, fam](State &st) { shim_run(fn, fam, st); });
  shim_families()[b] = fam;
  return F(b);
}
gbench_family *gbench_arg(gbench_family *f, int64_t a) {
  shim_nargs(f, 1);
  return F(B(f)->Arg(a));
}
gbench_family *gbench_args2(gbench_family *f, int64_t a, int64_t b) {
  shim_nargs(f, 2);
  return F(B(f)->Args({a, b}));
}
gbench_family *gbench_args3(gbench_family *f, int64_t a, int64_t b, int64_t c) {
  shim_nargs(f, 3);
  return F(B(f)->Args({a, b, c}));
}
gbench_family *gbench_range(gbench_family *f, int64_t lo, int64_t hi) {
  shim_nargs(f, 1);
  return F(B(f)->Range(lo, hi));
}
gbench_family *gbench_range_multiplier(gbench_family *f, int mult) {
  return F(B(f)->RangeMultiplier(mult));
}
gbench_family *gbench_arg_name(gbench_family *f, const char *name) {
  return F(B(f)->ArgName(name));
}
gbench_family *gbench_arg_names2(gbench_family *f, const char *a, const char *b) {
  return F(B(f)->ArgNames({a, b}));
}
gbench_family *gbench_arg_names3(gbench_family *f, const char *a, const char *b,
                                 const char *c) {
  return F(B(f)->ArgNames({a, b, c}));
}
gbench_family *gbench_threads(gbench_family *f, int n) { return F(B(f)->Threads(n)); }
gbench_family *gbench_use_real_time(gbench_family *f) { return F(B(f)->UseRealTime()); }
gbench_family *gbench_iterations(gbench_family *f, int64_t n) {
  return F(B(f)->Iterations(n));
}
gbench_family *gbench_repetitions(gbench_family *f, int n) {
  return F(B(f)->Repetitions(n));
}
gbench_family *gbench_min_time(gbench_family *f, double s) { return F(B(f)->MinTime(s)); }
gbench_family *gbench_unit(gbench_family *f, enum gbench_unit u) {
  static const benchmark::TimeUnit map[] = {benchmark::kNanosecond, benchmark::kMicrosecond,
                                            benchmark::kMillisecond, benchmark::kSecond};
  return F(B(f)->Unit(map[u]));
}

size_t _gbench_batch_begin(gbench_state *st) {
  State &s = *S(st);
  // One batch of the whole budget: starts the timer, grants max_iterations.
  const benchmark::IterationCount n = s.max_iterations;
  return s.KeepRunningBatch(n) ? static_cast<size_t>(n) : 0;
}
void _gbench_batch_end(gbench_state *st, size_t granted) {
  // A zero grant means KeepRunningBatch already finished the run (error).
  if (granted != 0) {
    bool more = S(st)->KeepRunningBatch(1);  // stops the timer
    (void)more;
  }
}

int64_t gbench_range_x(const gbench_state *st, int idx) {
  return S(st)->range(static_cast<std::size_t>(idx));
}
int gbench_thread_index(const gbench_state *st) { return S(st)->thread_index(); }
int gbench_thread_count(const gbench_state *st) { return S(st)->threads(); }
int64_t gbench_max_iterations(const gbench_state *st) { return S(st)->max_iterations; }
int64_t gbench_iterations_done(const gbench_state *st) { return S(st)->iterations(); }

void gbench_pause(gbench_state *st) { S(st)->PauseTiming(); }
void gbench_resume(gbench_state *st) { S(st)->ResumeTiming(); }

void gbench_set_items_processed(gbench_state *st, int64_t n) { S(st)->SetItemsProcessed(n); }
void gbench_set_bytes_processed(gbench_state *st, int64_t n) { S(st)->SetBytesProcessed(n); }
void gbench_set_label(gbench_state *st, const char *label) { S(st)->SetLabel(label); }
void gbench_counter(gbench_state *st, const char *name, double value, uint32_t flags) {
  S(st)->counters[name] = Counter(value, static_cast<Counter::Flags>(flags));
}
void gbench_skip_with_error(gbench_state *st, const char *msg) { S(st)->SkipWithError(msg); }

int gbench_main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

void gbench_print_flags(void) {
  std::fputs(
      "google-benchmark flags (all accepted):\n"
      "  --benchmark_list_tests={true|false}\n"
      "  --benchmark_filter=<regex>\n"
      "  --benchmark_min_time=<min_time>          seconds per benchmark\n"
      "  --benchmark_min_warmup_time=<seconds>\n"
      "  --benchmark_repetitions=<num_repetitions>\n"
      "  --benchmark_enable_random_interleaving={true|false}\n"
      "  --benchmark_report_aggregates_only={true|false}\n"
      "  --benchmark_display_aggregates_only={true|false}\n"
      "  --benchmark_format=<console|json|csv>\n"
      "  --benchmark_out=<filename>\n"
      "  --benchmark_out_format=<json|console|csv>\n"
      "  --benchmark_color={auto|true|false}\n"
      "  --benchmark_counters_tabular={true|false}\n"
      "  --benchmark_context=<key>=<value>,...\n"
      "  --benchmark_time_unit={ns|us|ms|s}\n"
      "  --v=<verbosity>\n",
      stdout);
}

}  // extern "C"

// Native C++ reference for the shim's own overhead: the same empty loop
// through google-benchmark's range-for (one decrement and compare per
// iteration, no call).  Registered here because it must be C++.
static void shim_native_empty_loop(State &st) {
  for (auto _ : st) {
    benchmark::ClobberMemory();
  }
}
BENCHMARK(shim_native_empty_loop)->Name("shim/native_empty_loop");
