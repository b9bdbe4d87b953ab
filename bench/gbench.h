/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gbench.h - a small C API over google-benchmark (bench/gbench_shim.cc).
 *
 * Register a C function, shape it (args, ranges, threads, real time,
 * iterations, repetitions), and time a loop with GBENCH_LOOP().  The loop
 * asks google-benchmark for the whole iteration budget in one
 * KeepRunningBatch() call, so an iteration costs the body plus a counter
 * compare, never an out-of-line call (bench "shim/empty_loop" measures it
 * against a native C++ loop, "shim/native_empty_loop").
 *
 * Output stays google-benchmark's own console and JSON formats.
 */
#ifndef LWKT_BENCH_GBENCH_H
#define LWKT_BENCH_GBENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbench_state gbench_state;	/* a benchmark::State */
typedef struct gbench_family gbench_family;	/* a benchmark::internal::Benchmark */
typedef void (*gbench_fn)(gbench_state *);

/* Registration: call before gbench_main(), e.g. from a constructor. */
gbench_family *gbench_register(const char *name, gbench_fn fn);
gbench_family *gbench_arg(gbench_family *f, int64_t a);
gbench_family *gbench_args2(gbench_family *f, int64_t a, int64_t b);
gbench_family *gbench_args3(gbench_family *f, int64_t a, int64_t b, int64_t c);
gbench_family *gbench_range(gbench_family *f, int64_t lo, int64_t hi);
gbench_family *gbench_range_multiplier(gbench_family *f, int mult);
gbench_family *gbench_arg_name(gbench_family *f, const char *name);
gbench_family *gbench_arg_names2(gbench_family *f, const char *a, const char *b);
gbench_family *gbench_arg_names3(gbench_family *f, const char *a, const char *b,
				 const char *c);
gbench_family *gbench_threads(gbench_family *f, int n);
gbench_family *gbench_use_real_time(gbench_family *f);
gbench_family *gbench_iterations(gbench_family *f, int64_t n);
gbench_family *gbench_repetitions(gbench_family *f, int n);
gbench_family *gbench_min_time(gbench_family *f, double seconds);
enum gbench_unit { GBENCH_NS, GBENCH_US, GBENCH_MS, GBENCH_S };
gbench_family *gbench_unit(gbench_family *f, enum gbench_unit u);

/* Convenience: register at load time; the shaping calls may use `f`:
 *   GBENCH_REGISTER(bm_pp, "roundtrip/floor_cacheline", gbench_use_real_time(f));
 */
#define GBENCH_REGISTER(fn, name, ...)					\
	__attribute__((constructor)) static void gbench_reg_##fn(void)	\
	{ gbench_family *f = gbench_register(name, fn); (void)f; __VA_ARGS__; }

/* The state loop.  Usage:  GBENCH_LOOP(st) { body; }
 * The first call to _gbench_batch() starts the timer and grants the whole
 * budget; the call after the last iteration stops the timer. */
size_t _gbench_batch_begin(gbench_state *st);
void _gbench_batch_end(gbench_state *st, size_t granted);
#define GBENCH_LOOP(st)							\
	for (size_t _gb_n = _gbench_batch_begin(st), _gb_i = 0;		\
	     _gb_i < _gb_n || (_gbench_batch_end(st, _gb_n), 0); _gb_i++)

/* State queries. */
int64_t gbench_range_x(const gbench_state *st, int idx);
int gbench_thread_index(const gbench_state *st);
int gbench_thread_count(const gbench_state *st);
int64_t gbench_max_iterations(const gbench_state *st);
/* Iterations run so far; after the loop: how many the loop ran. */
int64_t gbench_iterations_done(const gbench_state *st);

/* Timing control (use sparingly: each costs two clock reads). */
void gbench_pause(gbench_state *st);
void gbench_resume(gbench_state *st);

/* Results. */
void gbench_set_items_processed(gbench_state *st, int64_t n);
void gbench_set_bytes_processed(gbench_state *st, int64_t n);
void gbench_set_label(gbench_state *st, const char *label);
/* Counter flags mirror benchmark::Counter::Flags (checked in the shim). */
enum {
	GBENCH_CTR_DEFAULT = 0,
	GBENCH_CTR_RATE = 1 << 0,		/* kIsRate */
	GBENCH_CTR_AVG_THREADS = 1 << 1,	/* kAvgThreads */
	GBENCH_CTR_AVG_ITERATIONS = 1 << 3,	/* kAvgIterations */
	GBENCH_CTR_INVERT = 1 << 31,		/* kInvert */
};
void gbench_counter(gbench_state *st, const char *name, double value,
		    uint32_t flags);
/* Marks the run as failed; the loop must not run (or has run) after this.
 * google-benchmark 1.7 has no "skip without error": an honest skip is an
 * error that names its reason. */
void gbench_skip_with_error(gbench_state *st, const char *msg);

/* Keep-alive, as benchmark::DoNotOptimize / ClobberMemory.
 * gbench_escape(p): the compiler must assume *p is read and written.
 * gbench_clobber(): the compiler must assume all memory is read/written. */
static inline void gbench_escape(const void *p)
{
	__asm__ volatile("" : : "g"(p) : "memory");
}
static inline void gbench_clobber(void)
{
	__asm__ volatile("" : : : "memory");
}
/* Keeps a scalar value alive without forcing it through memory. */
#define GBENCH_KEEP(v) __asm__ volatile("" : : "r,m"(v) : "memory")

/* Runs google-benchmark over argv (already stripped of project flags).
 * Returns 0, or 2 after printing an error for unrecognised arguments. */
int gbench_main(int argc, char **argv);
/* Prints google-benchmark's own flag summary. */
void gbench_print_flags(void);

#ifdef __cplusplus
}
#endif
#endif /* LWKT_BENCH_GBENCH_H */
