/*
 * wrk.c - worker threads (see wrk.h). Loop: pop up to cfg->batch requests,
 * run them as one akv_eng_run() batch, push them back, wake the front end;
 * when the input ring is empty, announce sleep, re-check, block on the
 * eventfd for at most the time to the next tick.
 */
#include "wrk.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "renew.h"

#define TICK_MS 100   /* akv_eng_tick period (eng.h: "about every 100 ms") */
#define NSTATS 12     /* fields of struct akv_eng_stats */
/* After a batch starts, re-check the ring (each time after a sched_yield)
 * for up to this long before sleeping: at 1 conn x 1 in flight the next request
 * comes one client round trip (~10-20 us here) later, and blocking then
 * costs the front end an eventfd write and this thread a wake-up (~40-50 us
 * on the 2-vCPU test box when its vCPU had halted). Bounded in time and
 * only right after work: an idle worker blocks, it never spins. */
#define SPIN_NS 50000
/* Under load (the last batch held at least SPIN_BATCH_MIN requests) the
 * wait before sleeping is longer: 16 conns x 32 in flight arrive in waves
 * with gaps over 50 us, and each sleep then cost a wake-up while requests
 * were already queued (~3000 sleeps/s at 2.2 M req/s, the CPUs 18 % idle).
 * Measured with the front end's POLL_NS_LOADED in alternated load runs
 * (16 x 32, 2 vCPUs, noisy): Diameter gained in every set (medians +7 to
 * +28 %), AVS/1 in some sets and not others (-10 to +15 %); 500 us was no
 * better than 200, and either change alone showed nothing. */
#define SPIN_NS_LOADED 200000

struct akv_wrk {
	struct akv_spsc inq, outq;
	struct akv_spsc_wake wake;     /* this worker's */
	struct akv_spsc_wake *fe_wake; /* the front end's */
	const struct akv_cfg *cfg;
	struct akv_store *st;
	unsigned shard;
	int registrar;		/* runs the registrar engine (akv_wrk_start_registrar) */
	int cpu;
	_Atomic int stop;
	pthread_t th;
	/* start-up handshake */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started; /* 1 ok, -1 failed */
	int err;
	int flush_err;
	/* snapshots for other threads */
	_Atomic uint64_t stats[NSTATS];
	_Atomic uint64_t nreqs, nbatches;
	uint64_t store_errors_logged, store_log_ms;	/* log_store_errors */
};

/* A failing store (disk full, I/O errors) fails every commit, a damaged or
 * tampered sealed record never opens: say so, at most every STORE_LOG_MS,
 * with the count (the requests concerned were answered with the error;
 * nothing was released that was not durable). */
#define STORE_LOG_MS 5000

static void
log_store_errors(struct akv_wrk *w, uint64_t n)
{
	uint64_t now;

	if (n <= w->store_errors_logged)
		return;	/* nothing new (publish_stats runs after every batch) */
	now = akv_mono_ms();
	if (w->store_errors_logged && now - w->store_log_ms < STORE_LOG_MS)
		return;
	akv_log(AKV_LOG_ERR,
		"%s: %llu store error(s) so far: failed commits (SQN reservations, "
		"registration states) or subscriber records that do not read or open; their "
		"requests got errors: check the store's disk and `akavs db check`",
		w->registrar ? "registrar" : "worker", (unsigned long long)n);
	w->store_errors_logged = n;
	w->store_log_ms = now;
}

static void
publish_stats(struct akv_wrk *w, struct akv_eng *e)
{
	struct akv_eng_stats s;
	uint64_t *f = (uint64_t *)(void *)&s;

	_Static_assert(sizeof(s) == NSTATS * sizeof(uint64_t), "akv_eng_stats layout");
	akv_eng_stats(e, &s);
	if (s.store_errors)
		log_store_errors(w, s.store_errors);
	for (int i = 0; i < NSTATS; i++)
		atomic_store_explicit(&w->stats[i], f[i], memory_order_relaxed);
}

static void
pin(struct akv_wrk *w)
{
	cpu_set_t set;
	char name[16];

	if (w->registrar)
		snprintf(name, sizeof(name), "akavs-cx");
	else
		snprintf(name, sizeof(name), "akavs-w%u", w->shard);
	pthread_setname_np(pthread_self(), name);
	if (w->cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		akv_log(AKV_LOG_WARN, "worker %u: cannot pin to CPU %d", w->shard, w->cpu);
}

static void
started(struct akv_wrk *w, int ok, int err)
{
	pthread_mutex_lock(&w->mu);
	w->started = ok ? 1 : -1;
	w->err = err;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Adds to a counter only this thread writes: a plain load and store, no
 * locked read-modify-write (readers see either value, as with one). */
static inline void
count_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* Runs one batch with the clock read `now_ms`; returns how many requests it
 * took. */
static size_t
run_batch(struct akv_wrk *w, struct akv_eng *e, void **batch, size_t max, uint64_t now_ms)
{
	size_t n = akv_spsc_pop(&w->inq, batch, max), done = 0;

	if (!n)
		return 0;
	akv_eng_run(e, (struct akv_eng_req *const *)batch, n, now_ms);
	/* the output ring holds every request the front end can have in flight */
	while (done < n)
		done += akv_spsc_push(&w->outq, batch + done, n - done);
	akv_spsc_wake_notify(w->fe_wake);
	count_add(&w->nreqs, n);
	count_add(&w->nbatches, 1);
	publish_stats(w, e);
	return n;
}

/* Watches the input ring for a moment (SPIN_PAUSES pause instructions,
 * ~0.5 us on the 2-vCPU test box) before the caller yields: under load the
 * front end's next push is usually that close, and each sched_yield() is a
 * system call (~90 k/s under the 16x32 AVS/1 load, nearly all returning at
 * once). Returns 1 when requests arrived. */
#define SPIN_PAUSES 32
/* ... and only after a batch of at least this many: a sign of load */
#define SPIN_BATCH_MIN 8
static int
ring_wait_briefly(struct akv_spsc *q)
{
	for (int i = 0; i < SPIN_PAUSES; i++) {
		if (akv_spsc_count(q))
			return 1;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	return 0;
}

static void
idle_wait(struct akv_wrk *w, uint64_t next_tick)
{
	uint64_t now = akv_mono_ms();
	int timeout = next_tick > now ? (int)(next_tick - now) : 0;

	akv_spsc_wake_prepare(&w->wake);
	if (akv_spsc_count(&w->inq) == 0 && !atomic_load(&w->stop) && timeout > 0)
		akv_spsc_wake_wait(&w->wake, timeout);
	akv_spsc_wake_done(&w->wake);
}

/* The renewal written by the renewer thread is back: applied (and counted
 * in STATS at once: an idle worker publishes nothing else). */
static void
renewal_collect(struct akv_wrk *w, struct akv_eng *e, struct akv_renewer *rn)
{
	int rc;
	struct akv_eng_renewal *job = akv_renewer_poll(rn, &rc);

	if (!job)
		return;
	akv_eng_renewal_done(e, job, rc);
	publish_stats(w, e);
}

/* At a tick: the renewals queued since go to the renewer, unless it is
 * still writing the last ones (they wait for the next tick then). */
static void
renewal_hand_over(struct akv_wrk *w, struct akv_eng *e, struct akv_renewer *rn)
{
	struct akv_eng_renewal *job;

	renewal_collect(w, e, rn);
	if (akv_renewer_busy(rn))
		return;
	job = akv_eng_renewal_take(e);
	if (job)
		akv_renewer_submit(rn, job);
}

static void *
wrk_main(void *arg)
{
	struct akv_wrk *w = arg;
	struct akv_eng_cfg ecfg = w->cfg->eng;
	struct akv_renewer *rn = NULL;
	struct akv_eng *e;
	void **batch;
	uint64_t next_tick, last_work_ns = 0;
	size_t last_n = 0;	/* requests in the last batch */
	int err = 0;

	/* a shard's renewals are written by a thread of their own (the
	 * registrar makes no reservations), started before this thread is
	 * pinned so that it is not: its commit's CPU work may run beside the
	 * worker instead of taking turns with it */
	if (!w->registrar && w->st) {
		rn = akv_renewer_start(w->st, w->shard, &err);
		if (rn)
			ecfg.async_renewals = 1;
		else
			akv_log(AKV_LOG_WARN, "worker %u: no renewer thread (%s): SQN renewals "
				"commit on the worker", w->shard, akv_strerror(err));
		err = 0;
	}
	pin(w);
	e = w->registrar ? akv_eng_new_registrar(&ecfg, w->st, &err)
			 : akv_eng_new(&ecfg, w->st, w->shard, w->cfg->workers, &err);
	if (!e) {
		akv_renewer_stop(rn);
		started(w, 0, err ? err : AKV_EINVAL);
		return NULL;
	}
	batch = akv_malloc(w->cfg->batch * sizeof(void *));
	publish_stats(w, e);
	started(w, 1, 0);
	next_tick = akv_mono_ms() + TICK_MS;
	for (;;) {
		/* one clock read per round: the batch's expiry clock, the tick
		 * and the spin window (which thus runs from a batch's start) */
		uint64_t ns = akv_mono_ns(), now = ns / 1000000;
		size_t n = run_batch(w, e, batch, w->cfg->batch, now);

		if (now >= next_tick) {
			int r = akv_eng_tick(e, now);

			if (r)
				akv_log(AKV_LOG_WARN, "worker %u: tick: %s", w->shard,
					akv_strerror(r));
			if (rn)
				renewal_hand_over(w, e, rn);
			next_tick = now + TICK_MS;
		} else if (rn) {
			renewal_collect(w, e, rn);
		}
		if (n) {
			last_work_ns = ns;
			last_n = n;
			continue;
		}
		if (atomic_load(&w->stop) && akv_spsc_count(&w->inq) == 0)
			break;
		/* The next batch is usually a few microseconds away: re-check for
		 * up to SPIN_NS after the last one started, yielding the CPU to the front
		 * end or the client each time (sched_yield() returns at once when
		 * nothing else is runnable here), then block. */
		if (ns - last_work_ns < (last_n >= SPIN_BATCH_MIN ? SPIN_NS_LOADED : SPIN_NS)) {
			/* pausing first only under load: at 1 conn x 1 in flight it
			 * delayed the thread the yield would hand the CPU to
			 * (lat.sh p50 +0.7..6 us) */
			if (last_n < SPIN_BATCH_MIN || !ring_wait_briefly(&w->inq))
				sched_yield();
			continue;
		}
		idle_wait(w, next_tick);
	}
	/* shutdown: make SQN state durable before the thread ends (the
	 * renewal being written first: a failed one is queued again) */
	if (rn) {
		int rc;
		struct akv_eng_renewal *job = akv_renewer_wait(rn, &rc);

		if (job)
			akv_eng_renewal_done(e, job, rc);
		akv_renewer_stop(rn);
	}
	w->flush_err = akv_eng_flush(e);
	publish_stats(w, e);
	akv_eng_free(e);
	akv_free(batch);
	return NULL;
}

static struct akv_wrk *
start(const struct akv_cfg *cfg, struct akv_store *st, unsigned shard, int registrar, int cpu,
      size_t ring_cap, struct akv_spsc_wake *fe_wake, int *err)
{
	struct akv_wrk *w = akv_calloc(1, sizeof(*w));
	int r;

	w->cfg = cfg;
	w->st = st;
	w->shard = shard;
	w->registrar = registrar;
	w->cpu = cpu;
	w->fe_wake = fe_wake;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if ((r = akv_spsc_init(&w->inq, ring_cap)) || (r = akv_spsc_init(&w->outq, ring_cap)) ||
	    (r = akv_spsc_wake_init(&w->wake)))
		goto fail;
	r = -pthread_create(&w->th, NULL, wrk_main, w);
	if (r)
		goto fail;
	pthread_mutex_lock(&w->mu);
	while (!w->started)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	if (w->started < 0) {
		r = w->err;
		pthread_join(w->th, NULL);
		goto fail;
	}
	return w;
fail:
	*err = r;
	akv_spsc_wake_fini(&w->wake);
	akv_spsc_fini(&w->inq);
	akv_spsc_fini(&w->outq);
	akv_free(w);
	return NULL;
}

/* see wrk.h */
struct akv_wrk *
akv_wrk_start(const struct akv_cfg *cfg, struct akv_store *st, unsigned shard, int cpu,
	      size_t ring_cap, struct akv_spsc_wake *fe_wake, int *err)
{
	return start(cfg, st, shard, 0, cpu, ring_cap, fe_wake, err);
}

/* see wrk.h */
struct akv_wrk *
akv_wrk_start_registrar(const struct akv_cfg *cfg, struct akv_store *st, int cpu,
			size_t ring_cap, struct akv_spsc_wake *fe_wake, int *err)
{
	return start(cfg, st, 0, 1, cpu, ring_cap, fe_wake, err);
}

/* see wrk.h */
int
akv_wrk_stop(struct akv_wrk *w)
{
	int r;

	atomic_store(&w->stop, 1);
	akv_spsc_wake_prepare(&w->wake); /* force the write: the worker may be asleep */
	akv_spsc_wake_notify(&w->wake);
	pthread_join(w->th, NULL);
	r = w->flush_err;
	akv_spsc_wake_fini(&w->wake);
	akv_spsc_fini(&w->inq);
	akv_spsc_fini(&w->outq);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	akv_free(w);
	return r;
}

/* see wrk.h */
struct akv_spsc *
akv_wrk_inq(struct akv_wrk *w)
{
	return &w->inq;
}

/* see wrk.h */
struct akv_spsc *
akv_wrk_outq(struct akv_wrk *w)
{
	return &w->outq;
}

/* see wrk.h */
void
akv_wrk_notify(struct akv_wrk *w)
{
	akv_spsc_wake_notify(&w->wake);
}

/* see wrk.h */
void
akv_wrk_stats(const struct akv_wrk *w, struct akv_eng_stats *out)
{
	uint64_t *f = (uint64_t *)(void *)out;

	for (int i = 0; i < NSTATS; i++)
		f[i] = atomic_load_explicit(&((struct akv_wrk *)w)->stats[i], memory_order_relaxed);
}

/* see wrk.h */
void
akv_wrk_counts(const struct akv_wrk *w, uint64_t *reqs, uint64_t *batches)
{
	struct akv_wrk *m = (struct akv_wrk *)w;

	*reqs = atomic_load_explicit(&m->nreqs, memory_order_relaxed);
	*batches = atomic_load_explicit(&m->nbatches, memory_order_relaxed);
}

/* see wrk.h */
int
akv_wrk_cpu(const struct akv_wrk *w)
{
	return w->cpu;
}
