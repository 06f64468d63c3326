/*
 * renew.c - see renew.h. A mutex and a condition variable carry one job
 * each way; the worker's per-round check is one atomic load.
 */
#include "renew.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "aka/eng.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "store/store.h"

struct akv_renewer {
	struct akv_store *st;
	unsigned shard;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct akv_eng_renewal *todo;	/* handed over, not yet taken by the thread */
	/* written, its outcome in rc: set under mu, read without it by the
	 * worker's per-round poll */
	struct akv_eng_renewal *_Atomic done;
	int rc;
	int stop;
	int inflight;			/* worker's view: a job was submitted, not collected */
};

static void *
renewer_main(void *arg)
{
	struct akv_renewer *r = arg;
	char name[16];

	snprintf(name, sizeof(name), "akavs-r%u", r->shard);
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct akv_eng_renewal *job;
		int rc;

		while (!r->todo && !r->stop)
			pthread_cond_wait(&r->cv, &r->mu);
		if (!r->todo)
			break;
		job = r->todo;
		r->todo = NULL;
		pthread_mutex_unlock(&r->mu);
		rc = akv_store_seq_reserve(r->st, job->u, job->n);
		pthread_mutex_lock(&r->mu);
		r->rc = rc;
		atomic_store_explicit(&r->done, job, memory_order_release);
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* see renew.h */
struct akv_renewer *
akv_renewer_start(struct akv_store *st, unsigned shard, int *err)
{
	struct akv_renewer *r = akv_calloc(1, sizeof(*r));
	int e;

	r->st = st;
	r->shard = shard;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	e = pthread_create(&r->th, NULL, renewer_main, r);
	if (e) {
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->cv);
		akv_free(r);
		*err = -e;
		return NULL;
	}
	return r;
}

/* see renew.h */
void
akv_renewer_submit(struct akv_renewer *r, struct akv_eng_renewal *job)
{
	AKV_ASSERT(!r->inflight);
	pthread_mutex_lock(&r->mu);
	r->todo = job;
	r->inflight = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static struct akv_eng_renewal *
collect(struct akv_renewer *r, int *rc)
{
	struct akv_eng_renewal *job = atomic_load_explicit(&r->done, memory_order_relaxed);

	*rc = r->rc;
	atomic_store_explicit(&r->done, NULL, memory_order_relaxed);
	r->inflight = 0;
	return job;
}

/* see renew.h */
struct akv_eng_renewal *
akv_renewer_poll(struct akv_renewer *r, int *rc)
{
	struct akv_eng_renewal *job;

	if (!atomic_load_explicit(&r->done, memory_order_acquire))
		return NULL;
	pthread_mutex_lock(&r->mu);
	job = collect(r, rc);
	pthread_mutex_unlock(&r->mu);
	return job;
}

/* see renew.h */
int
akv_renewer_busy(const struct akv_renewer *r)
{
	return r->inflight;
}

/* see renew.h */
struct akv_eng_renewal *
akv_renewer_wait(struct akv_renewer *r, int *rc)
{
	struct akv_eng_renewal *job;

	*rc = 0;
	if (!r->inflight)
		return NULL;
	pthread_mutex_lock(&r->mu);
	while (!atomic_load_explicit(&r->done, memory_order_relaxed))
		pthread_cond_wait(&r->cv, &r->mu);
	job = collect(r, rc);
	pthread_mutex_unlock(&r->mu);
	return job;
}

/* see renew.h */
void
akv_renewer_stop(struct akv_renewer *r)
{
	if (!r)
		return;
	AKV_ASSERT(!r->inflight);
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->th, NULL);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	akv_free(r);
}
