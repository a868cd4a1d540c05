/*
 * bench/engine: what the engine worker costs, each figure beside its
 * baseline in the same run.
 *
 *  (a) apply throughput, one pinned core, ticks/s with 1, 100 and 10,000
 *      symbols, four timeframes (1s,1m,5m,1h) and every indicator on; the
 *      baseline is reading the same ticks without applying them.
 *  (b) tick-to-bar latency between processes: the feed (cpu A) stamps the
 *      TSC into a tick and writes it; the worker (cpu B) reads it, applies
 *      it (the open bars and the live state updated in place, bars closed
 *      and written when due), and takes the TSC.  Beside it, the same hop
 *      without the apply: the log's own one-way latency, the limit.  Also
 *      the round trip as the feed process sees the update land in the
 *      seqlocked live state (two line crossings, a conservative bound).
 *  (c) heap allocations of the worker in steady state (must be 0): malloc,
 *      calloc, realloc are counted by link-time wrapping.
 *  (d) the real run loop (tk_worker_run: batch reads, the apply, the
 *      checkpoints and cursor commits, end of stream) over a log holding
 *      the same ticks as (a), beside (a)'s apply of them in the same run;
 *      then across processes as `tickd run` starts them: `tickd feed
 *      --speed max` into `tickd engine`, wall time from the feed's start to
 *      the engine's end; and the engine paced at make run's 5,000 trades/s,
 *      its syscalls counted by perf (raw_syscalls:sys_enter) per tick and
 *      per second, checkpoints (rename, pwrite) per second.
 *
 *  (e) scaling: ticks/s at 10, 1,000, 10,000 and 100,000 symbols, each beside
 *      100 symbols applied in the same round (median of the per-round
 *      ratios); at 10,000 also with 4 KiB pages for the worker's arrays,
 *      with the segment on hugetlbfs (when a mount with free pages
 *      exists), without bar closes (every trade in one second, the 100
 *      beside it too), and beside 100 symbols at as many trades per
 *      symbol-second (2,000 trades a second: about as many bars closed per
 *      tick on both sides); the memory a tick writes, alone, at each count; one
 *      shard against two shards in two processes (pinned to --cpus).
 *
 * usage: engine [--quick] [--apply-only [--symbols N]] [--run-loop-only] [--scaling-only]
 *               [--rounds N] [--cpus A,B]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libgen.h>
#include <limits.h>

#include "bench/stats.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/hist.h"
#include "engine/checkpoint.h"
#include "engine/worker.h"
#include "feed/synth.h"
#include "common/prefetch.h"
#include "shm/records.h"
#include "shm/state.h"

/* ---------------------------------------------------------- allocation count */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
static volatile uint64_t allocs;

void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n)
{
	allocs++;
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m);
void *__wrap_calloc(size_t n, size_t m)
{
	allocs++;
	return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
	allocs++;
	return __real_realloc(p, n);
}

/* ---------------------------------------------------------- set-up */

static int cpu_a = 0, cpu_b = 1;
static double tsc_per_ns;
static char path[320];
static uint32_t seg_capacity = 16384; /* symbols; raised for the 100,000-symbol runs */

/* The segment's place: /dev/shm, or a hugetlbfs mount for (e). */
static void set_shm_dir(const char *dir)
{
	snprintf(path, sizeof(path), "%s/tickd-bench-engine-%d", dir, (int)getpid());
}

/* Remove the segment and the worker's checkpoint (on tmpfs: see
 * tk_ckpt_path_for). */
static void remove_segment(void)
{
	tk_ckpt_remove_all(path, NULL);
	unlink(path);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		fprintf(stderr, "engine: cannot pin to cpu %d: %s\n", cpu, strerror(errno));
		exit(1);
	}
}

static void die(const char *what)
{
	fprintf(stderr, "engine: %s: %s\n", what, tk_err_msg());
	exit(1);
}

static void make_segment(struct tk_segment *seg, uint32_t tick_slots)
{
	struct tk_seg_config c;
	const char *tfs[] = { "bars.1s", "bars.1m", "bars.5m", "bars.1h" };
	unsigned i;

	tk_seg_config_default(&c);
	c.symbol_capacity = seg_capacity;
	c.state_record_size = (uint32_t)((sizeof(struct tk_live) + TK_STATE_HEADER + 63) & ~63ul);
	tk_seg_config_add_log(&c, "ticks.0", tick_slots, 64, 4);
	for (i = 0; i < 4; i++)
		tk_seg_config_add_log(&c, tfs[i], 65536, 256, 4);
	tk_seg_config_add_log(&c, "signals", 65536, 128, 4);
	if (tk_segment_create(seg, path, &c, true) < 0)
		die("segment");
}

/* ---------------------------------------------------------- (a) throughput */

struct tput {
	double apply_tps;
	double read_tps;
	uint64_t allocs;
	uint64_t bars;
};

#define CORPUS_RATE 200000.0 /* trades a second of event time: 1 s bars close throughout */

/* n synthetic trades of nsym symbols (seed 42, `rate` trades a second of
 * event time) as log slots, their symbols interned in seg; with seg NULL,
 * aux is the symbol's index in the generator (see corpus_bind). */
static void synth_ticks_at(struct tk_segment *seg, struct tk_slot *ticks, uint64_t n,
			   uint32_t nsym, double rate)
{
	struct tk_synth_cfg sc;
	static struct tk_synth gen;
	int32_t *ids = malloc(nsym * sizeof(*ids));
	uint64_t i;

	tk_synth_cfg_default(&sc);
	sc.nsymbols = nsym;
	sc.rate = rate;
	sc.seed = 42;
	tk_synth_init(&gen, &sc);
	for (i = 0; i < nsym; i++)
		ids[i] = seg == NULL ? (int32_t)i
				     : tk_symtab_intern(tk_symtab_of(seg),
							tk_synth_symbol(&gen, (uint32_t)i),
							(uint32_t)strlen(tk_synth_symbol(&gen, (uint32_t)i)));
	for (i = 0; i < n; i++) {
		struct tk_synth_trade t;
		struct tk_tick k = { 0 };

		tk_synth_next(&gen, &t);
		k.ts_ns = t.ts_ns;
		k.price = t.price;
		k.size = t.size;
		k.src = i;
		memset(&ticks[i], 0, sizeof(ticks[i]));
		ticks[i].seq = i + 1;
		ticks[i].type = TK_REC_TICK;
		ticks[i].aux = (uint32_t)ids[t.symbol];
		memcpy(ticks[i].data, &k, sizeof(k));
	}
	free(ids);
}

static void synth_ticks(struct tk_segment *seg, struct tk_slot *ticks, uint64_t n, uint32_t nsym)
{
	synth_ticks_at(seg, ticks, n, nsym, CORPUS_RATE);
}

/* The ticks of one symbol count, made once and applied in many runs. */
struct corpus {
	uint32_t nsym;
	double rate;    /* trades a second of event time */
	uint64_t prime; /* the first `prime` ticks: one of each symbol */
	uint64_t warm;  /* the measured part starts here */
	uint64_t n;     /* ticks in all */
	struct tk_slot *ticks; /* aux: the symbol id in the current run's segment */
	uint32_t *index;       /* each tick's symbol, as the generator numbers them */
};

/* One trade of every symbol at the first trade's time, then n trades: a
 * run warms up on the priming trades and the first tenth of the rest, so
 * that every symbol has state before the measured part (with a Zipf tail
 * of 100,000 symbols, the rarest first trade far into the corpus, and a
 * first tick is a start-up cost: it clears the symbol's state). */
static void corpus_make_at(struct corpus *c, uint32_t nsym, uint64_t n, bool flat, double rate)
{
	uint64_t i;
	int64_t t0;

	c->nsym = nsym;
	c->rate = rate;
	c->prime = nsym;
	c->n = nsym + n;
	c->ticks = malloc(c->n * sizeof(*c->ticks));
	c->index = malloc(c->n * sizeof(*c->index));
	if (c->ticks == NULL || c->index == NULL)
		die("corpus");
	synth_ticks_at(NULL, c->ticks + nsym, n, nsym, rate);
	memcpy(&t0, c->ticks[nsym].data, sizeof(t0));
	for (i = 0; i < nsym; i++) {
		struct tk_tick k = { .ts_ns = t0, .price = 100.0, .size = 1.0 };

		memset(&c->ticks[i], 0, sizeof(c->ticks[i]));
		c->ticks[i].type = TK_REC_TICK;
		c->ticks[i].aux = (uint32_t)i;
		memcpy(c->ticks[i].data, &k, sizeof(k));
	}
	for (i = 0; i < c->n; i++) {
		c->ticks[i].seq = i + 1;
		c->index[i] = c->ticks[i].aux;
		if (flat)
			memcpy(c->ticks[i].data, &t0, sizeof(t0)); /* ts_ns, the first field */
	}
	/* The measured part starts after the priming trades and a tenth of
	 * the rest, and past the close of the priming trades' 1 s windows
	 * (their end plus the default lateness): those bars, one for every
	 * symbol, are warm-up too. */
	c->warm = c->prime + (c->n - c->prime) / 10;
	if (!flat) {
		struct tk_worker_cfg wc;
		int64_t ts, done;

		tk_worker_cfg_default(&wc);
		done = t0 - t0 % TK_NS_PER_S + TK_NS_PER_S + wc.lateness_ns;
		for (i = c->warm; i < c->prime + (c->n - c->prime) / 2; i++) {
			memcpy(&ts, c->ticks[i].data, sizeof(ts));
			if (ts > done)
				break;
		}
		c->warm = i;
	}
}

static void corpus_make(struct corpus *c, uint32_t nsym, uint64_t n, bool flat)
{
	corpus_make_at(c, nsym, n, flat, CORPUS_RATE);
}

static void corpus_free(struct corpus *c)
{
	free(c->ticks);
	free(c->index);
}

/* Intern the corpus's symbols in a fresh segment and point its ticks at them. */
static void corpus_bind(struct corpus *c, struct tk_segment *seg)
{
	/* (The segment was made with room: see segment_for.) */
	struct tk_synth_cfg sc;
	static struct tk_synth gen;
	int32_t *ids = malloc(c->nsym * sizeof(*ids));
	uint64_t i;

	tk_synth_cfg_default(&sc);
	sc.nsymbols = c->nsym;
	tk_synth_init(&gen, &sc);
	for (i = 0; i < c->nsym; i++) {
		const char *name = tk_synth_symbol(&gen, (uint32_t)i);

		ids[i] = tk_symtab_intern(tk_symtab_of(seg), name, (uint32_t)strlen(name));
		if (ids[i] < 0)
			die("symbol table");
	}
	for (i = 0; i < c->n; i++)
		c->ticks[i].aux = (uint32_t)ids[c->index[i]];
	free(ids);
}

/* How a run lays out its memory (what (e) compares). */
struct layout {
	bool huge_private; /* the worker's arrays on THP (the default) */
	uint32_t shards;   /* 1, or 2: shard `shard` of two */
	uint32_t shard;
};

static const struct layout default_layout = { .huge_private = true, .shards = 1 };

/* A segment for a corpus of nsym symbols (16,384 slots, 131,072 past that). */
static void make_segment_for(struct tk_segment *seg, uint32_t shards, uint32_t nsym)
{
	struct tk_seg_config c;
	const char *tfs[] = { "1s", "1m", "5m", "1h" };
	int64_t tf_ns[4];
	char name[TK_NAME_MAX];
	unsigned i, k;

	seg_capacity = nsym > 16384 ? 131072 : 16384;
	if (shards == 1) {
		make_segment(seg, 1024);
		seg_capacity = 16384;
		return;
	}
	tk_seg_config_default(&c);
	c.symbol_capacity = seg_capacity;
	c.state_record_size = (uint32_t)((sizeof(struct tk_live) + TK_STATE_HEADER + 63) & ~63ul);
	tk_seg_config_add_log(&c, "ticks.0", 1024, 64, 4);
	for (i = 0; i < 4; i++)
		tk_timeframes_parse(tfs[i], &tf_ns[i], 1);
	for (k = 0; k < shards; k++) {
		for (i = 0; i < 4; i++) {
			tk_bar_log_name(tf_ns[i], k, shards, name, sizeof(name));
			tk_seg_config_add_log(&c, name, 65536, 256, 4);
		}
		tk_signal_log_name(k, shards, name, sizeof(name));
		tk_seg_config_add_log(&c, name, 65536, 128, 4);
	}
	if (tk_segment_create(seg, path, &c, true) < 0)
		die("segment");
	seg_capacity = 16384;
}

/* Apply ticks [from, to) of c in batches of 64; the seconds it took. */
static double apply_range(struct tk_worker *w, const struct corpus *c, uint64_t from, uint64_t to)
{
	int64_t t0 = tk_mono_ns();
	uint64_t i;

	for (i = from; i < to; i += 64)
		tk_worker_apply_batch(w, &c->ticks[i], (uint32_t)(to - i < 64 ? to - i : 64),
				      sizeof(c->ticks[0]));
	return (double)(tk_mono_ns() - t0) / 1e9;
}

/* Where the measured part of a run starts (corpus_make). */
static uint64_t warm_of(const struct corpus *c)
{
	return c->warm;
}

/* One worker applies the corpus in a segment of its own (created by the
 * caller for several shards): the warm-up, then the measured rest. */
static struct tput apply_in(struct corpus *c, struct tk_segment *seg, const struct layout *lo)
{
	struct tk_worker_cfg cfg;
	static struct tk_worker w;
	uint64_t warm = warm_of(c), a0;
	struct tput r = { 0 };

	tk_worker_cfg_default(&cfg);
	cfg.huge_pages = lo->huge_private;
	cfg.shards = lo->shards;
	cfg.shard = lo->shard;
	if (tk_worker_open(&w, seg, &cfg) < 0)
		die("worker");
	apply_range(&w, c, 0, warm);
	a0 = allocs;
	r.apply_tps = (double)(c->n - warm) / apply_range(&w, c, warm, c->n);
	r.allocs = allocs - a0;
	r.bars = w.stats.bars;
	tk_worker_close(&w);
	return r;
}

static struct tput apply_run(struct corpus *c, const struct layout *lo)
{
	struct tk_segment seg;
	struct tput r;

	make_segment_for(&seg, 1, c->nsym);
	corpus_bind(c, &seg);
	r = apply_in(c, &seg, lo);
	tk_segment_detach(&seg);
	remove_segment();
	return r;
}

static struct tput throughput(uint32_t nsym, uint64_t n)
{
	struct corpus c;
	struct tput r;
	uint64_t i, warm, sink = 0;
	int64_t t0, t1;

	corpus_make(&c, nsym, n, false);
	warm = warm_of(&c);
	/* Baseline: touch every tick as the worker must, without the work. */
	t0 = tk_mono_ns();
	for (i = warm; i < c.n; i++) {
		struct tk_slot s;
		struct tk_tick k;

		memcpy(&s, &c.ticks[i], sizeof(s));
		memcpy(&k, s.data, sizeof(k));
		sink += (uint64_t)k.price + s.aux;
	}
	t1 = tk_mono_ns();
	r = apply_run(&c, &default_layout);
	r.read_tps = (double)(c.n - warm) / ((double)(t1 - t0) / 1e9);
	if (sink == 42)
		printf(" ");
	corpus_free(&c);
	return r;
}

/* ---------------------------------------------------------- (e) scaling */

/*
 * Per-tick cost against the symbol count, each figure beside 100 symbols
 * applied in the same round (the host's speed wanders by 2x over seconds:
 * only a ratio of neighbours means anything).  Rounds alternate which of
 * the pair runs first; the figure is the median over the rounds.
 */
struct variant {
	const char *what;
	uint32_t nsym;
	struct layout lo;
	bool hugetlb; /* the segment on a hugetlbfs mount */
	bool flat;    /* every trade at the first one's time, the 100 symbols beside it too:
			 no window opens or closes after the first, the tick path alone */
	bool same_symbol_rate; /* the 100 symbols beside it at 100/nsym of the trades a
				  second: as many trades per symbol-second, so about as
				  many bars closed per tick on both sides */
	double tps[16];
	double ratio[16];
	double touch[16], touch_base[16]; /* touch_tps at nsym and at 100 in the same round */
	double base[16];
	uint64_t bars;
	uint64_t base_bars; /* closed by the 100 symbols beside it */
};

/* A hugetlbfs mount with room for a 10,000-symbol segment, or NULL;
 * looked for once, so that a run that had it keeps it. */
static const char *hugetlb_dir_find(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long free_pages = 0;
	struct statfs fs;

	if (statfs("/dev/hugepages", &fs) != 0 || fs.f_type != HUGETLBFS_MAGIC)
		return NULL;
	if (f == NULL)
		return NULL;
	while (fgets(line, sizeof(line), f) != NULL)
		sscanf(line, "HugePages_Free: %ld", &free_pages);
	fclose(f);
	/* 16,384 state records of 1.5 KB and the logs: about 60 pages. */
	if (free_pages < 64 || access("/dev/hugepages", W_OK) != 0)
		return NULL;
	{
		char probe[64];
		int fd;

		snprintf(probe, sizeof(probe), "/dev/hugepages/tickd-bench-probe-%d", (int)getpid());
		fd = open(probe, O_CREAT | O_RDWR, 0600);
		if (fd < 0)
			return NULL;
		close(fd);
		unlink(probe);
	}
	return "/dev/hugepages";
}

static const char *hugetlb_dir(void)
{
	static bool looked;
	static const char *dir;

	if (!looked) {
		dir = hugetlb_dir_find();
		looked = true;
	}
	return dir;
}

/*
 * The memory a tick must touch, and nothing else: for each tick, one
 * store in each line of its record that the worker's tick writes (the
 * seqlock line, the trade fields, the four open bars: 8 lines), prefetched
 * as the worker prefetches them.  Its extra nanoseconds per tick at N
 * symbols over 100 are what the caches charge for that access pattern on
 * this host, whatever the code around it: the bound of the engine's own.
 */
static double touch_tps(struct corpus *c)
{
	struct tk_segment seg;
	struct tk_state_region *st;
	uint64_t i, warm = warm_of(c);
	size_t lines = (TK_STATE_HEADER + offsetof(struct tk_live, open_bar) +
			4 * sizeof(struct tk_bar) + 63) / 64;
	int64_t t0 = 0;

	bool far = c->nsym >= TK_PREFETCH_FAR_MIN; /* as the worker decides it */

	make_segment_for(&seg, 1, c->nsym);
	corpus_bind(c, &seg);
	st = tk_state_of(&seg);
	for (i = 0; i < c->n; i++) {
		uint8_t *rec;
		size_t k;

		if (i == warm)
			t0 = tk_mono_ns();
		if (far && i + 8 < c->n)
			for (k = 0; k < lines; k++)
				tk_prefetch_l2((uint8_t *)tk_state_record(st, c->ticks[i + 8].aux) + 64 * k);
		if (i + 2 < c->n)
			for (k = 0; k < lines; k++)
				tk_prefetch((uint8_t *)tk_state_record(st, c->ticks[i + 2].aux) + 64 * k);
		rec = (uint8_t *)tk_state_record(st, c->ticks[i].aux);
		for (k = 0; k < lines; k++)
			(*(volatile uint64_t *)(rec + 64 * k + 8))++;
	}
	t0 = tk_mono_ns() - t0;
	tk_segment_detach(&seg);
	remove_segment();
	return (double)(c->n - warm) / ((double)t0 / 1e9);
}

static struct tput scaled_run(struct corpus *c, const struct variant *v)
{
	struct tput r;

	if (v->hugetlb && hugetlb_dir() != NULL)
		set_shm_dir(hugetlb_dir());
	r = apply_run(c, &v->lo);
	set_shm_dir("/dev/shm");
	return r;
}

/* Two shards in two processes on two cores, each applying its symbols of
 * the same ticks; ticks/s = all ticks over the slower one's time. */
static double two_shards(struct corpus *c)
{
	struct tk_segment seg;
	volatile uint32_t *go;
	double *secs;
	pid_t pid[2];
	uint32_t k;

	go = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	secs = (double *)(go + 16);
	make_segment_for(&seg, 2, c->nsym);
	corpus_bind(c, &seg);
	for (k = 0; k < 2; k++) {
		pid[k] = fork();
		if (pid[k] == 0) {
			struct layout lo = { .huge_private = true, .shards = 2, .shard = k };
			struct tk_worker_cfg cfg;
			static struct tk_worker w;
			uint64_t warm = warm_of(c);

			pin(k == 0 ? cpu_a : cpu_b);
			tk_worker_cfg_default(&cfg);
			cfg.shards = lo.shards;
			cfg.shard = lo.shard;
			if (tk_worker_open(&w, &seg, &cfg) < 0)
				die("worker");
			apply_range(&w, c, 0, warm);
			__atomic_add_fetch(go, 1, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(go, __ATOMIC_ACQUIRE) < 2)
				;
			secs[k] = apply_range(&w, c, warm, c->n);
			tk_worker_close(&w);
			_exit(0);
		}
	}
	for (k = 0; k < 2; k++) {
		int status;

		if (waitpid(pid[k], &status, 0) != pid[k] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "engine: a two-shard worker failed\n");
			exit(1);
		}
	}
	tk_segment_detach(&seg);
	remove_segment();
	{
		double t = secs[0] > secs[1] ? secs[0] : secs[1];
		double tps = (double)(c->n - warm_of(c)) / t;

		munmap((void *)go, 4096);
		return tps;
	}
}

struct scaling {
	struct variant v[10];
	int nv;
	int rounds;
	double shard1[16], shard2[16], shard_ratio[16];
	uint32_t shard_syms;
};

/* One round of variant v: its run and 100 symbols' (of the same kind of
 * corpus), in the order the round says, and the memory-alone loop over both. */
static void measure_pair(struct variant *v, struct corpus *base, struct corpus *c, int r)
{
	struct tput a, b;

	if (r % 2 == 0) {
		a = apply_run(base, &default_layout);
		b = scaled_run(c, v);
	} else {
		b = scaled_run(c, v);
		a = apply_run(base, &default_layout);
	}
	v->tps[r] = b.apply_tps;
	v->base[r] = a.apply_tps;
	v->ratio[r] = b.apply_tps / a.apply_tps;
	v->bars = b.bars;
	v->base_bars = a.bars;
	if (!v->hugetlb && v->lo.huge_private) {
		if (r % 2 == 0) {
			v->touch_base[r] = touch_tps(base);
			v->touch[r] = touch_tps(c);
		} else {
			v->touch[r] = touch_tps(c);
			v->touch_base[r] = touch_tps(base);
		}
	}
}

/* The corpora of a table: one per (symbols, flat, rate), made once. */
struct corpora {
	struct corpus c[10];
	bool flat[10];
	int n;
	uint64_t ticks;
};

static struct corpus *corpus_of_at(struct corpora *cs, uint32_t nsym, bool flat, double rate)
{
	int i;

	for (i = 0; i < cs->n; i++)
		if (cs->c[i].nsym == nsym && cs->flat[i] == flat && cs->c[i].rate == rate)
			return &cs->c[i];
	corpus_make_at(&cs->c[cs->n], nsym, cs->ticks, flat, rate);
	cs->flat[cs->n] = flat;
	return &cs->c[cs->n++];
}

static struct corpus *corpus_of(struct corpora *cs, uint32_t nsym, bool flat)
{
	return corpus_of_at(cs, nsym, flat, CORPUS_RATE);
}

/* The 100-symbol corpus a variant is measured beside. */
static struct corpus *base_of(struct corpora *cs, const struct variant *v)
{
	return corpus_of_at(cs, 100, v->flat,
			    v->same_symbol_rate ? CORPUS_RATE * 100 / v->nsym : CORPUS_RATE);
}

/* only: just that symbol count in the default layout, beside 100 (0: the whole table). */
static void scaling(struct scaling *s, uint64_t n, int rounds, uint32_t only)
{
	static const uint32_t syms[] = { 10, 1000, 10000, 100000 };
	static struct corpora cs;
	int r, i;

	memset(s, 0, sizeof(*s));
	memset(&cs, 0, sizeof(cs));
	cs.ticks = n;
	s->rounds = rounds;
	if (only > 0) {
		s->v[s->nv++] = (struct variant){ .nsym = only, .lo = default_layout,
						  .what = "THP private arrays, segment on tmpfs" };
		if (only != 100) /* (at 100 it is the same corpus on both sides) */
			s->v[s->nv++] = (struct variant){ .nsym = only, .lo = default_layout,
							  .same_symbol_rate = true,
							  .what = "100 beside it at its trades/symbol/s" };
	} else {
		for (i = 0; i < 4; i++)
			s->v[s->nv++] = (struct variant){ .nsym = syms[i], .lo = default_layout,
							  .what = "THP private arrays, segment on tmpfs" };
		s->v[s->nv++] = (struct variant){ .nsym = 10000,
						  .lo = { .huge_private = false, .shards = 1 },
						  .what = "4 KiB pages for the private arrays" };
		if (hugetlb_dir() != NULL)
			s->v[s->nv++] = (struct variant){ .nsym = 10000, .lo = default_layout,
							  .hugetlb = true,
							  .what = "segment on hugetlbfs (2 MiB pages)" };
		s->v[s->nv++] = (struct variant){ .nsym = 10000, .lo = default_layout, .flat = true,
						  .what = "no bar closes (both sides: one second)" };
		s->v[s->nv++] = (struct variant){ .nsym = 10000, .lo = default_layout,
						  .same_symbol_rate = true,
						  .what = "100 beside it at its trades/symbol/s" };
	}
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < s->nv; i++) {
			struct variant *v = &s->v[i];

			measure_pair(v, base_of(&cs, v), corpus_of(&cs, v->nsym, v->flat), r);
		}
		if (only > 0)
			continue;
		/* Shards at 10,000 symbols: one worker on one core, then two. */
		s->shard_syms = 10000;
		if (r % 2 == 0) {
			s->shard1[r] = apply_run(corpus_of(&cs, 10000, false), &default_layout).apply_tps;
			s->shard2[r] = two_shards(corpus_of(&cs, 10000, false));
		} else {
			s->shard2[r] = two_shards(corpus_of(&cs, 10000, false));
			s->shard1[r] = apply_run(corpus_of(&cs, 10000, false), &default_layout).apply_tps;
		}
		s->shard_ratio[r] = s->shard2[r] / s->shard1[r];
	}
	for (i = 0; i < cs.n; i++)
		corpus_free(&cs.c[i]);
}

/* The ratio of the row beside 100 symbols at the same trades per
 * symbol-second, -1 if the table has none. */
static double same_rate_ratio(const struct scaling *s)
{
	int i;

	for (i = 0; i < s->nv; i++)
		if (s->v[i].same_symbol_rate)
			return tk_bench_median(s->v[i].ratio, s->rounds);
	return -1;
}

static void print_scaling(const struct scaling *s)
{
	int i, R = s->rounds;

	printf("\n(e) scaling: ticks/s beside 100 symbols in the same round, median of %d rounds\n", R);
	printf("    symbols  layout                                   ticks/s   ns/tick  100 sym "
	       "ticks/s  ratio (min-max)      bars closed (100 beside)\n");
	for (i = 0; i < s->nv; i++) {
		const struct variant *v = &s->v[i];
		double t = tk_bench_median(v->tps, R);

		printf("    %7u  %-38s %10.0f %9.1f %12.0f  %.2f (%.2f-%.2f) %12llu (%llu)\n", v->nsym,
		       v->what, t, 1e9 / t, tk_bench_median(v->base, R), tk_bench_median(v->ratio, R),
		       tk_bench_min(v->ratio, R), tk_bench_max(v->ratio, R), (unsigned long long)v->bars,
		       (unsigned long long)v->base_bars);
	}
	printf("    extra ns per tick over 100 symbols (same round, median): the worker's, and the\n"
	       "    memory alone (one store in each of the 8 lines a tick writes, same prefetch)\n");
	for (i = 0; i < s->nv; i++) {
		const struct variant *v = &s->v[i];
		double e[16], m[16];
		int r;

		if (v->hugetlb || !v->lo.huge_private)
			continue;
		for (r = 0; r < R; r++) {
			e[r] = 1e9 / v->tps[r] - 1e9 / v->base[r];
			m[r] = 1e9 / v->touch[r] - 1e9 / v->touch_base[r];
		}
		printf("    %7u  worker +%.1f ns, memory alone +%.1f ns (at 100: %.1f ns a tick)%s\n",
		       v->nsym, tk_bench_median(e, R), tk_bench_median(m, R), 1e9 / tk_bench_median(v->touch_base, R),
		       v->flat ? "  no bar closes" : v->same_symbol_rate ? "  100 at its trades/symbol/s" : "");
	}
	if (s->shard_syms > 0)
		printf("    shards at %u symbols: 1 shard %.0f ticks/s, 2 shards (2 processes, 2 cores) "
	       "%.0f: %.2fx (%.2f-%.2f)\n", s->shard_syms, tk_bench_median(s->shard1, R),
	       tk_bench_median(s->shard2, R), tk_bench_median(s->shard_ratio, R), tk_bench_min(s->shard_ratio, R),
	       tk_bench_max(s->shard_ratio, R));
}

/* ---------------------------------------------------------- (d) run loop */

struct runloop {
	double loop_tps;   /* tk_worker_run over a full log */
	double batch_tps;  /* tk_worker_apply_batch of the same ticks */
	uint64_t checkpoints;
	double xproc_tps;  /* tickd feed --speed max -> tickd engine */
	double feed_alone_tps; /* tickd feed --speed max with no reader: what bounds xproc */
	double xproc_syscalls_per_tick;
	double paced_syscalls_per_tick;
	double paced_syscalls_per_s;
	double paced_ckpt_writes_per_s; /* rename + pwrite of the checkpoint */
	double paced_seconds;
	double block_syscalls_per_tick; /* the same, the engine with --idle block */
	double block_syscalls_per_s;
	double block_ckpt_writes_per_s;
	uint64_t paced_ticks;
};

/* The run loop and the batch apply over the same n ticks of 100 symbols. */
static void run_loop_inprocess(uint64_t n, struct runloop *r)
{
	struct tk_slot *ticks = malloc(n * sizeof(*ticks));
	struct tk_worker_cfg cfg;
	struct tk_log_writer wr;
	struct tk_heartbeat end = { .flags = TK_HEARTBEAT_F_END };
	struct tk_segment seg;
	static struct tk_worker w;
	volatile int stop = 0;
	uint32_t slots = 1;
	uint64_t i;
	int64_t t0, t1;

	while (slots < n + 64)
		slots <<= 1;
	make_segment(&seg, slots);
	synth_ticks(&seg, ticks, n, 100);
	if (tk_log_writer_open(&wr, tk_log_find(&seg, "ticks.0")) < 0)
		die("writer");
	for (i = 0; i < n; i++)
		while (tk_log_write(&wr, TK_REC_TICK, ticks[i].aux, ticks[i].data, 48) != TK_LOG_OK)
			;
	memcpy(&end.clock_ns, ticks[n - 1].data, sizeof(end.clock_ns));
	tk_log_write(&wr, TK_REC_HEARTBEAT, 0, &end, sizeof(end));
	tk_log_writer_close(&wr);
	tk_worker_cfg_default(&cfg);
	cfg.exit_at_end = true;
	if (tk_worker_open(&w, &seg, &cfg) < 0)
		die("worker");
	t0 = tk_mono_ns();
	tk_worker_run(&w, &stop);
	t1 = tk_mono_ns();
	r->loop_tps = (double)n / ((double)(t1 - t0) / 1e9);
	r->checkpoints = w.checkpoints;
	tk_worker_close(&w);
	tk_segment_detach(&seg);
	remove_segment();
	{
		/* The baseline: the apply of the same ticks, batches of 64. */
		make_segment(&seg, 1024);
		synth_ticks(&seg, ticks, n, 100); /* the same ticks, their symbols in this segment */
		if (tk_worker_open(&w, &seg, &cfg) < 0)
			die("worker");
		t0 = tk_mono_ns();
		for (i = 0; i < n; i += 64)
			tk_worker_apply_batch(&w, &ticks[i], (uint32_t)(n - i < 64 ? n - i : 64),
					      sizeof(ticks[0]));
		t1 = tk_mono_ns();
		r->batch_tps = (double)n / ((double)(t1 - t0) / 1e9);
		tk_worker_close(&w);
		tk_segment_detach(&seg);
		remove_segment();
	}
	free(ticks);
}

static char tickd_bin[1024];

/* Run a shell command; 0 if it exited 0. */
static int sh_run(const char *cmd)
{
	int rc = system(cmd);

	return rc == 0 ? 0 : -1;
}

/* Sum of the perf counters named `event` in a perf stat -x, file (-1: none). */
static double perf_count(const char *file, const char *event)
{
	char line[512];
	double sum = -1;
	FILE *f = fopen(file, "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, event) != NULL && line[0] >= '0' && line[0] <= '9')
			sum = (sum < 0 ? 0 : sum) + strtod(line, NULL);
	fclose(f);
	return sum;
}

/*
 * The engine process under perf, fed by a `tickd feed` process: at speed
 * max (throughput) and at 5,000 trades/s (make run's rate).
 */
static void run_loop_processes(uint64_t n, struct runloop *r)
{
	char cmd[8192], perf_out[160], seg[128];
	const char *ev = "raw_syscalls:sys_enter,syscalls:sys_enter_rename,"
			 "syscalls:sys_enter_pwrite64";
	int64_t t0, t1;
	int pass;

	snprintf(seg, sizeof(seg), "/dev/shm/tickd-bench-xproc-%d", (int)getpid());
	snprintf(perf_out, sizeof(perf_out), "/tmp/tickd-bench-perf-%d", (int)getpid());
	r->xproc_syscalls_per_tick = r->paced_syscalls_per_tick = -1;
	r->paced_syscalls_per_s = r->paced_ckpt_writes_per_s = -1;
	r->block_syscalls_per_tick = r->block_syscalls_per_s = r->block_ckpt_writes_per_s = -1;
	snprintf(cmd, sizeof(cmd),
		 "%s init --fresh --shm-path %s --slots %u >/dev/null && %s feed --source synth "
		 "--shm-path %s --symbols 100 --count %llu --speed max 2>/dev/null",
		 tickd_bin, seg, 1u << 22, tickd_bin, seg, (unsigned long long)n);
	t0 = tk_mono_ns();
	if (sh_run(cmd) < 0)
		die("tickd feed alone");
	t1 = tk_mono_ns();
	r->feed_alone_tps = (double)n / ((double)(t1 - t0) / 1e9); /* the init is in it: a bound */
	for (pass = 0; pass < 3; pass++) {
		bool paced = pass >= 1;
		const char *idle = pass == 2 ? "--idle block" : "";
		uint64_t count = paced ? 25000 : n;
		double sys, ren, pw;

		snprintf(cmd, sizeof(cmd), "%s init --fresh --shm-path %s --slots %u >/dev/null",
			 tickd_bin, seg, paced ? 1u << 20 : 1u << 22);
		if (sh_run(cmd) < 0)
			die("tickd init");
		/* The engine first (as tickd run does), then the feed. */
		snprintf(cmd, sizeof(cmd),
			 "( perf stat -e %s -x, -o %s -- %s engine --shm-path %s --exit-at-end %s "
			 "2>/dev/null || %s engine --shm-path %s --exit-at-end %s 2>/dev/null ) & "
			 "for i in $(seq 1 500); do %s stats --shm-path %s 2>/dev/null | "
			 "grep -q 'reader engine.0' && break; sleep 0.01; done; "
			 "echo $(date +%%s%%N) > %s.t0; "
			 "%s feed --source synth --shm-path %s --symbols 100 --count %llu %s "
			 "2>/dev/null; wait",
			 ev, perf_out, tickd_bin, seg, idle, tickd_bin, seg, idle, tickd_bin, seg, perf_out,
			 tickd_bin, seg, (unsigned long long)count,
			 paced ? "--rate 5000 --speed 1 --start now" : "--speed max");
		t0 = tk_mono_ns();
		if (sh_run(cmd) < 0)
			die("tickd feed -> tickd engine");
		t1 = tk_mono_ns();
		{
			/* Wall time from the feed's start (its stamp) to the end. */
			char tf[200];
			FILE *f;
			long long t0_wall = 0;

			snprintf(tf, sizeof(tf), "%s.t0", perf_out);
			f = fopen(tf, "r");
			if (f != NULL) {
				if (fscanf(f, "%lld", &t0_wall) != 1)
					t0_wall = 0;
				fclose(f);
			}
			unlink(tf);
			if (t0_wall > 0)
				t0 = t1 - (tk_wall_ns() - t0_wall);
		}
		sys = perf_count(perf_out, "raw_syscalls:sys_enter");
		ren = perf_count(perf_out, "sys_enter_rename");
		pw = perf_count(perf_out, "sys_enter_pwrite64");
		if (!paced) {
			r->xproc_tps = (double)count / ((double)(t1 - t0) / 1e9);
			if (sys >= 0)
				r->xproc_syscalls_per_tick = sys / (double)count;
		} else if (pass == 2) {
			double secs = (double)(t1 - t0) / 1e9;

			if (sys >= 0) {
				r->block_syscalls_per_tick = sys / (double)count;
				r->block_syscalls_per_s = sys / secs;
				r->block_ckpt_writes_per_s = (ren + pw) / secs;
			}
		} else {
			r->paced_seconds = (double)(t1 - t0) / 1e9;
			r->paced_ticks = count;
			if (sys >= 0) {
				r->paced_syscalls_per_tick = sys / (double)count;
				r->paced_syscalls_per_s = sys / r->paced_seconds;
				r->paced_ckpt_writes_per_s = (ren + pw) / r->paced_seconds;
			}
		}
		unlink(perf_out);
		snprintf(cmd, sizeof(cmd), "%s clean --shm-path %s >/dev/null 2>&1", tickd_bin, seg);
		sh_run(cmd);
	}
}

/* ---------------------------------------------------------- (b) latency */

struct shared {
	uint64_t ack __attribute__((aligned(64)));
	uint8_t pad[56];
	uint64_t ready;
	uint64_t allocs; /* the worker process's steady-state allocations */
	struct tk_hist hist; /* one-way, on the worker side */
};

static struct shared *sh;

/* The worker side: read each tick; apply it (or not: the baseline); stamp. */
static void worker_side(uint64_t iters, bool apply)
{
	struct tk_segment seg;
	struct tk_worker w;
	struct tk_worker_cfg cfg;
	struct tk_slot s;
	uint64_t i, a0 = 0;

	pin(cpu_b);
	if (tk_segment_attach(&seg, path, TK_ATTACH_WRITER) < 0)
		die("attach");
	tk_worker_cfg_default(&cfg);
	cfg.idle = TK_IDLE_SPIN;
	if (tk_worker_open(&w, &seg, &cfg) < 0)
		die("worker");
	ck_pr_store_64(&sh->ready, 1);
	for (i = 0; i < iters; i++) {
		struct tk_tick k;
		uint64_t now;

		while (tk_log_read(&w.in[0], &s) != TK_LOG_OK)
			tk_cpu_relax();
		if (apply) {
			if (i == iters / 10)
				a0 = allocs;
			tk_worker_apply(&w, &s);
		}
		now = tk_tsc();
		memcpy(&k, s.data, sizeof(k));
		/* A stamp from the future (a vCPU moved between TSCs) is left out. */
		if (i >= iters / 20 && (int64_t)(now - (uint64_t)k.recv_ns) >= 0)
			tk_hist_record(&sh->hist,
				       (uint64_t)((double)(now - (uint64_t)k.recv_ns) / tsc_per_ns + 0.5));
		tk_log_reader_commit(&w.in[0]);
		if (!apply)
			ck_pr_store_64(&sh->ack, i + 1);
	}
	sh->allocs = allocs - a0;
	tk_worker_close(&w);
	tk_segment_detach(&seg);
}

struct lat {
	struct tk_hist oneway;
	struct tk_hist roundtrip; /* apply only: the feed process sees the update */
	uint64_t allocs;
};

static struct lat latency(uint64_t iters, bool apply)
{
	struct tk_segment seg;
	struct tk_log_writer wr;
	struct tk_state_region *st;
	struct lat r;
	int32_t id;
	pid_t pid;
	uint64_t i;
	int status;

	make_segment(&seg, 65536);
	id = tk_symtab_intern(tk_symtab_of(&seg), "AAPL", 4);
	st = tk_state_of(&seg);
	memset(sh, 0, sizeof(*sh));
	tk_hist_init(&sh->hist);
	tk_hist_init(&r.roundtrip);
	pid = fork();
	if (pid == 0) {
		worker_side(iters, apply);
		_exit(0);
	}
	pin(cpu_a);
	while (ck_pr_load_64(&sh->ready) == 0)
		tk_cpu_relax();
	if (tk_log_writer_open(&wr, tk_log_find(&seg, "ticks.0")) < 0)
		die("writer");
	for (i = 0; i < iters; i++) {
		/* One trade a millisecond of event time: 1 s bars close every 1000. */
		struct tk_tick k = { .ts_ns = 1704205800LL * 1000000000LL + (int64_t)i * 1000000,
				     .price = 100 + (double)(i % 100) / 100, .size = 100 };
		uint64_t t0;

		for (int p = 0; p < 64; p++)
			tk_cpu_relax();
		t0 = tk_tsc();
		k.recv_ns = (int64_t)t0;
		while (tk_log_write(&wr, TK_REC_TICK, (uint32_t)id, &k, sizeof(k)) != TK_LOG_OK)
			tk_cpu_relax();
		if (apply) {
			/* Wait for the update to land in the live state (the seqlock's
			 * update count moves past this tick). */
			struct tk_state_record *rec = tk_state_record(st, (uint32_t)id);

			struct tk_live *live = (struct tk_live *)((uint8_t *)rec + TK_STATE_HEADER);

			int64_t give_up = tk_mono_ns() + 2000000000LL;

			while (ck_pr_load_64(&live->last_seq) < wr.next - 1)
				if (tk_mono_ns() > give_up) {
					fprintf(stderr, "engine: the worker never applied tick %llu\n",
						(unsigned long long)(wr.next - 1));
					kill(pid, SIGKILL);
					exit(1);
				}
			if (i >= iters / 20)
				tk_hist_record(&r.roundtrip,
					       (uint64_t)((double)(tk_tsc() - t0) / tsc_per_ns + 0.5));
		} else {
			while (ck_pr_load_64(&sh->ack) != i + 1)
				tk_cpu_relax();
		}
	}
	waitpid(pid, &status, 0);
	r.oneway = sh->hist;
	r.allocs = sh->allocs;
	tk_log_writer_close(&wr);
	tk_segment_detach(&seg);
	remove_segment();
	return r;
}

int main(int argc, char **argv)
{
	uint64_t n = 4000000, iters = 400000;
	bool only_apply = false, only_loop = false, only_scaling = false;
	int rounds = 5;
	static struct scaling sc;
	struct runloop rl = { 0 };
	uint32_t only_symbols = 0;
	static const uint32_t nsyms[3] = { 1, 100, 10000 };
	struct tput tp[2][3], best[3], other[3];
	uint64_t allocs_apply = 0;
	struct lat hop, bar;
	int i, c, k;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			n = 1000000;
			iters = 100000;
			rounds = 3;
		} else if (strcmp(argv[i], "--apply-only") == 0) {
			only_apply = true;
		} else if (strcmp(argv[i], "--run-loop-only") == 0) {
			only_loop = true;
		} else if (strcmp(argv[i], "--scaling-only") == 0) {
			only_scaling = true;
		} else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0 &&
			   atoi(argv[i + 1]) <= 16) {
			rounds = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--symbols") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0) {
			only_symbols = (uint32_t)atoi(argv[++i]); /* one apply run, for profiles */
		} else if (strcmp(argv[i], "--cpus") == 0 && i + 1 < argc &&
			   sscanf(argv[i + 1], "%d,%d", &cpu_a, &cpu_b) == 2) {
			i++;
		} else {
			fprintf(stderr, "usage: engine [--quick] [--apply-only [--symbols N]] "
				"[--run-loop-only] [--scaling-only] [--rounds N (1-16)] [--cpus A,B]\n");
			return 2;
		}
	}
	set_shm_dir("/dev/shm");
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	tsc_per_ns = tk_tsc_per_ns();

	{
		/* tickd sits beside the bench directory in the build tree. */
		char self[PATH_MAX];
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

		self[len > 0 ? len : 0] = '\0';
		snprintf(tickd_bin, sizeof(tickd_bin), "%s/../tickd", dirname(self));
	}
	pin(cpu_a);
	if (only_loop) {
		run_loop_inprocess(n / 2, &rl);
		run_loop_processes(n / 2, &rl);
		printf("run loop %.0f ticks/s vs batch apply %.0f (%.2fx), %llu checkpoints; "
		       "tickd feed -> tickd engine %.0f ticks/s, %.4f syscalls/tick; paced 5,000/s: "
		       "%.3f syscalls/tick, %.1f/s, checkpoint writes %.1f/s; --idle block %.3f/tick\n",
		       rl.loop_tps, rl.batch_tps, rl.loop_tps / rl.batch_tps,
		       (unsigned long long)rl.checkpoints, rl.xproc_tps, rl.xproc_syscalls_per_tick,
		       rl.paced_syscalls_per_tick, rl.paced_syscalls_per_s, rl.paced_ckpt_writes_per_s,
		       rl.block_syscalls_per_tick);
		return 0;
	}
	if (only_scaling && only_symbols > 0) {
		scaling(&sc, n, rounds, only_symbols);
		print_scaling(&sc);
		if (same_rate_ratio(&sc) < 0) /* (100 symbols: no such row) */
			printf("{\"apply_ratio\":%.3f,\"symbols\":%u}\n",
			       tk_bench_median(sc.v[0].ratio, rounds), only_symbols);
		else
			printf("{\"apply_ratio\":%.3f,\"apply_ratio_same_symbol_rate\":%.3f,"
			       "\"symbols\":%u}\n", tk_bench_median(sc.v[0].ratio, rounds),
			       same_rate_ratio(&sc), only_symbols);
		return 0;
	}
	if (only_scaling) {
		scaling(&sc, n, rounds, 0);
		print_scaling(&sc);
		printf("{\"apply_ratio_10000\":%.3f,\"apply_ratio_100000\":%.3f,"
		       "\"apply_ratio_10000_same_symbol_rate\":%.3f,"
		       "\"apply_tps_10000_median\":%.0f,\"apply_tps_100_median\":%.0f,"
		       "\"shards2_ratio\":%.3f}\n", tk_bench_median(sc.v[2].ratio, rounds),
		       same_rate_ratio(&sc),
		       tk_bench_median(sc.v[3].ratio, rounds), tk_bench_median(sc.v[2].tps, rounds),
		       tk_bench_median(sc.v[2].base, rounds), tk_bench_median(sc.shard_ratio, rounds));
		return 0;
	}
	if (only_symbols > 0) {
		struct tput t = throughput(only_symbols, n);

		printf("apply ticks/s: %u symbols %.0f (read only %.0f), %llu bars closed\n",
		       only_symbols, t.apply_tps, t.read_tps, (unsigned long long)t.bars);
		return 0;
	}
	/* Twice, once on each core, and the better run counts: on a shared
	 * virtual machine whole seconds run at half speed (a busy neighbour
	 * on the host), and a pinned worker would be placed away from it. */
	for (c = 0; c < 2; c++) {
		pin(c == 0 ? cpu_a : cpu_b);
		for (k = 0; k < 3; k++) {
			tp[c][k] = throughput(nsyms[k], n);
			allocs_apply += tp[c][k].allocs;
		}
	}
	pin(cpu_a);
	for (k = 0; k < 3; k++) {
		int f = tp[1][k].apply_tps > tp[0][k].apply_tps;

		best[k] = tp[f][k];
		other[k] = tp[!f][k];
	}
	if (only_apply) {
		printf("apply ticks/s, better run (other run): 1 symbol %.0f (%.0f), 100 symbols "
		       "%.0f (%.0f), 10,000 symbols %.0f (%.0f); read only %.0f\n",
		       best[0].apply_tps, other[0].apply_tps, best[1].apply_tps, other[1].apply_tps,
		       best[2].apply_tps, other[2].apply_tps, best[2].read_tps);
		return 0;
	}
	scaling(&sc, n, rounds, 0);
	pin(cpu_a);
	hop = latency(iters, false);
	bar = latency(iters, true);
	pin(cpu_a);
	run_loop_inprocess(n / 2, &rl);
	/* The processes are not pinned: as tickd run starts them. */
	{
		cpu_set_t all;

		CPU_ZERO(&all);
		for (i = 0; i < CPU_SETSIZE && i < 64; i++)
			CPU_SET(i, &all);
		sched_setaffinity(0, sizeof(all), &all);
	}
	run_loop_processes(n / 2, &rl);

	printf("bench/engine: the worker, four timeframes (1s,1m,5m,1h), SMA/EMA 20/50, RSI 14,\n"
	       "VWAP, session VWAP, volatility, four signals; one core per process\n\n");
	printf("(a) apply, ticks/s per core    cpu %-2d     cpu %-2d   read only   bars closed\n",
	       cpu_a, cpu_b);
	for (k = 0; k < 3; k++)
		printf("    %-6u symbol%s      %12.0f %11.0f %11.0f %13llu\n", nsyms[k],
		       nsyms[k] == 1 ? " " : "s", tp[0][k].apply_tps, tp[1][k].apply_tps,
		       tp[0][k].read_tps, (unsigned long long)tp[0][k].bars);
	print_scaling(&sc);
	printf("\n(b) latency, ns (cpus %d -> %d)          p50      p99    p99.9        max\n", cpu_a,
	       cpu_b);
	printf("    log hop (the limit)           %8llu %8llu %8llu %10llu\n",
	       (unsigned long long)tk_hist_percentile(&hop.oneway, 50),
	       (unsigned long long)tk_hist_percentile(&hop.oneway, 99),
	       (unsigned long long)tk_hist_percentile(&hop.oneway, 99.9),
	       (unsigned long long)hop.oneway.max);
	printf("    tick to bar (applied)         %8llu %8llu %8llu %10llu\n",
	       (unsigned long long)tk_hist_percentile(&bar.oneway, 50),
	       (unsigned long long)tk_hist_percentile(&bar.oneway, 99),
	       (unsigned long long)tk_hist_percentile(&bar.oneway, 99.9),
	       (unsigned long long)bar.oneway.max);
	printf("    tick to bar seen by the feed  %8llu %8llu %8llu %10llu   (round trip)\n",
	       (unsigned long long)tk_hist_percentile(&bar.roundtrip, 50),
	       (unsigned long long)tk_hist_percentile(&bar.roundtrip, 99),
	       (unsigned long long)tk_hist_percentile(&bar.roundtrip, 99.9),
	       (unsigned long long)bar.roundtrip.max);
	printf("\n(c) heap allocations in steady state: apply %llu, worker process %llu\n",
	       (unsigned long long)allocs_apply, (unsigned long long)bar.allocs);
	printf("\n(d) the run loop, 100 symbols, %llu ticks   ticks/s   vs batch apply\n",
	       (unsigned long long)(n / 2));
	printf("    tk_worker_run, one process        %12.0f   %.2fx (batch %.0f; %llu checkpoints)\n",
	       rl.loop_tps, rl.loop_tps / rl.batch_tps, rl.batch_tps,
	       (unsigned long long)rl.checkpoints);
	printf("    tickd feed -> tickd engine        %12.0f   %.2fx   engine syscalls/tick %.4f\n",
	       rl.xproc_tps, rl.xproc_tps / rl.batch_tps, rl.xproc_syscalls_per_tick);
	printf("    (tickd feed alone, no reader      %12.0f: the synthetic generator bounds it)\n",
	       rl.feed_alone_tps);
	printf("    paced, 5,000 trades/s, %.1f s: engine (idle backoff) syscalls %.3f/tick, %.0f/s;\n"
	       "      checkpoint writes %.1f/s; with --idle block %.3f/tick, %.0f/s, checkpoint "
	       "writes %.1f/s\n\n", rl.paced_seconds, rl.paced_syscalls_per_tick,
	       rl.paced_syscalls_per_s, rl.paced_ckpt_writes_per_s, rl.block_syscalls_per_tick,
	       rl.block_syscalls_per_s, rl.block_ckpt_writes_per_s);
	/* apply_tps_*: the better of the two runs. */
	printf("{\"apply_tps_1\":%.0f,\"apply_tps_100\":%.0f,\"apply_tps_10000\":%.0f,"
	       "\"apply_tps_1_other_run\":%.0f,\"apply_tps_100_other_run\":%.0f,"
	       "\"apply_tps_10000_other_run\":%.0f,\"read_tps_100\":%.0f,\"tick_to_bar_ns_p50\":%llu,\"tick_to_bar_ns_p99\":%llu,"
	       "\"tick_to_bar_ns_p999\":%llu,\"tick_to_bar_seen_ns_p99\":%llu,\"hop_ns_p50\":%llu,"
	       "\"hop_ns_p99\":%llu,\"steady_state_allocs\":%llu,\"run_loop_tps\":%.0f,"
	       "\"run_loop_batch_tps\":%.0f,\"xproc_tps\":%.0f,\"feed_alone_tps\":%.0f,\"xproc_syscalls_per_tick\":%.4f,"
	       "\"paced_syscalls_per_tick\":%.3f,\"paced_syscalls_per_s\":%.1f,"
	       "\"paced_checkpoint_writes_per_s\":%.1f,\"block_syscalls_per_tick\":%.3f,"
	       "\"block_syscalls_per_s\":%.1f,\"apply_ratio_10000\":%.3f,\"apply_ratio_100000\":%.3f,"
	       "\"apply_ratio_10000_same_symbol_rate\":%.3f,"
	       "\"apply_tps_10000_median\":%.0f,\"apply_tps_100_median\":%.0f,\"shards2_ratio\":%.3f}\n",
	       best[0].apply_tps, best[1].apply_tps, best[2].apply_tps, other[0].apply_tps,
	       other[1].apply_tps, other[2].apply_tps, best[1].read_tps,
	       (unsigned long long)tk_hist_percentile(&bar.oneway, 50),
	       (unsigned long long)tk_hist_percentile(&bar.oneway, 99),
	       (unsigned long long)tk_hist_percentile(&bar.oneway, 99.9),
	       (unsigned long long)tk_hist_percentile(&bar.roundtrip, 99),
	       (unsigned long long)tk_hist_percentile(&hop.oneway, 50),
	       (unsigned long long)tk_hist_percentile(&hop.oneway, 99),
	       (unsigned long long)(allocs_apply + bar.allocs), rl.loop_tps, rl.batch_tps,
	       rl.xproc_tps, rl.feed_alone_tps, rl.xproc_syscalls_per_tick, rl.paced_syscalls_per_tick,
	       rl.paced_syscalls_per_s, rl.paced_ckpt_writes_per_s, rl.block_syscalls_per_tick,
	       rl.block_syscalls_per_s, tk_bench_median(sc.v[2].ratio, rounds), tk_bench_median(sc.v[3].ratio, rounds),
	       same_rate_ratio(&sc),
	       tk_bench_median(sc.v[2].tps, rounds), tk_bench_median(sc.v[2].base, rounds),
	       tk_bench_median(sc.shard_ratio, rounds));
	return 0;
}
