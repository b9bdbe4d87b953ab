/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * plugin.c - registration only: plugin `lwkt` with the sink component
 * classes `timeline` (self-contained HTML page), `chrome` (Chrome
 * trace-event JSON for Perfetto and chrome://tracing) and `perfetto`
 * (Perfetto's protobuf trace format).  See sink.c.
 */
#include <babeltrace2/babeltrace.h>

bt_component_class_initialize_method_status viz_init_timeline(
	bt_self_component_sink *, bt_self_component_sink_configuration *,
	const bt_value *, void *);
bt_component_class_initialize_method_status viz_init_chrome(
	bt_self_component_sink *, bt_self_component_sink_configuration *,
	const bt_value *, void *);
bt_component_class_initialize_method_status viz_init_perfetto(
	bt_self_component_sink *, bt_self_component_sink_configuration *,
	const bt_value *, void *);
void viz_finalize(bt_self_component_sink *);
bt_component_class_sink_graph_is_configured_method_status
	viz_graph_is_configured(bt_self_component_sink *);
bt_component_class_sink_consume_method_status viz_consume(bt_self_component_sink *);

BT_PLUGIN_MODULE();
BT_PLUGIN(lwkt);
BT_PLUGIN_DESCRIPTION("lwkt-lab: per-CPU message timelines, Chrome trace JSON, Perfetto traces");
BT_PLUGIN_AUTHOR("lwkt-lab");
BT_PLUGIN_LICENSE("BSD-3-Clause");

BT_PLUGIN_SINK_COMPONENT_CLASS(timeline, viz_consume);
BT_PLUGIN_SINK_COMPONENT_CLASS_DESCRIPTION(timeline,
	"Per-CPU timeline of an lwkt trace as one self-contained HTML page "
	"(param: path)");
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(timeline, viz_init_timeline);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(timeline, viz_finalize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(timeline,
	viz_graph_is_configured);

BT_PLUGIN_SINK_COMPONENT_CLASS(chrome, viz_consume);
BT_PLUGIN_SINK_COMPONENT_CLASS_DESCRIPTION(chrome,
	"Chrome trace-event JSON (Perfetto, chrome://tracing): one track per "
	"cpu, flows send->dispatch->reply (params: path, max_bytes)");
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(chrome, viz_init_chrome);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(chrome, viz_finalize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(chrome,
	viz_graph_is_configured);

BT_PLUGIN_SINK_COMPONENT_CLASS(perfetto, viz_consume);
BT_PLUGIN_SINK_COMPONENT_CLASS_DESCRIPTION(perfetto,
	"Perfetto protobuf trace (TrackEvent), streamed: a track per cpu and "
	"per thread, flows for messages and IPIs, IPI ring counters "
	"(param: path)");
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(perfetto, viz_init_perfetto);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(perfetto, viz_finalize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(perfetto,
	viz_graph_is_configured);
