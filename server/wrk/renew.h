/*
 * renew.h - the thread that writes a shard engine's low-headroom SQN
 * renewals (eng.h "Renewals written by another thread"), so that their
 * commit, an fsync, never holds up the worker's batches: under full load
 * the worker waited for it a few times a second (the latency tail,
 * docs/OPERATIONS.md section 4), and for as long as a slow disk took.
 * One job at a time; the worker takes the next only after this one's
 * outcome is back.
 */
#ifndef AKV_SERVER_WRK_RENEW_H
#define AKV_SERVER_WRK_RENEW_H

struct akv_store;
struct akv_eng_renewal;
struct akv_renewer;

/* Starts the thread (named akavs-rN for shard N). NULL and *err on failure. */
struct akv_renewer *akv_renewer_start(struct akv_store *st, unsigned shard, int *err);
/* Hands a job over (none may be in flight). */
void akv_renewer_submit(struct akv_renewer *r, struct akv_eng_renewal *job);
/* The written job, with akv_store_seq_reserve()'s result in *rc, or NULL
 * while it is still being written. One atomic load when not ready. */
struct akv_eng_renewal *akv_renewer_poll(struct akv_renewer *r, int *rc);
/* 1 while a submitted job has not been collected (poll or wait). */
int akv_renewer_busy(const struct akv_renewer *r);
/* Waits for the job in flight; returns it (NULL when there is none). */
struct akv_eng_renewal *akv_renewer_wait(struct akv_renewer *r, int *rc);
/* Stops and frees the thread; no job may be in flight. */
void akv_renewer_stop(struct akv_renewer *r);

#endif
