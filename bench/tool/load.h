/*
 * load.h - internals of `akavs-bench load`: the subscriber file, the
 * connection/slot model and the protocol modules (echo, AVS/1) it drives.
 *
 * Each client thread owns one ring and C/threads connections; every
 * connection keeps D request slots busy. A slot runs one transaction at a
 * time (e.g. CHALLENGE then VERIFY with the RES computed here); each round
 * trip is one request, timed from the moment its frame is queued until its
 * answer is parsed, into the thread's latency histogram.
 */
#ifndef AKV_BENCH_TOOL_LOAD_H
#define AKV_BENCH_TOOL_LOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <netinet/in.h>

#include "akv_crypto.h"
#include "bring.h"
#include "hist.h"

/* ==== Subscribers (load_subs.c) ==== */

#define LOAD_IMPI_MAX 255

/* 128 bytes, two cache lines on a 64-byte boundary once the table is read.
 * A request reads the identities (it is picked at random: each line is a
 * miss), so they come first: kept in `inl` when they fit, right behind the
 * lengths, so identities of up to LOAD_SUB_LINE0 bytes (NULs included) are
 * in the first line and the request needs that line only. K and OPc, last,
 * are read when the table is set up (the vector check takes the schedule
 * and OPc from struct load_sched) and by the reference kernel. */
#define LOAD_SUB_INLINE 76
#define LOAD_SUB_LINE0 (64 - offsetof(struct load_sub, inl))
struct load_sub {
	char *impi; /* NUL-terminated, 1..255 bytes */
	uint8_t impi_len, impu_len;
	char inl[LOAD_SUB_INLINE]; /* impi\0[impu\0] when they fit */
	char *impu; /* first IMPU of the list, or NULL (then impu_len is 0) */
	uint8_t k[16], opc[16];
};
_Static_assert(sizeof(struct load_sub) == 128, "a subscriber record is two cache lines");

/* sub's first IMPU, or NULL: computed from the first line when the
 * identities are inline (sub->impu is in the second). */
static inline const char *
load_sub_impu(const struct load_sub *sub)
{
	if (sub->impi != sub->inl)
		return sub->impu;
	return sub->impu_len ? sub->inl + sub->impi_len + 1 : NULL;
}

/* What the vector check reads per vector: K's AES-128 schedule
 * (akv_aes_expand), so the kernel expands no key per vector, and OPc beside
 * it, three whole cache lines in all. Secrets, wiped with the table. */
struct load_sched {
	struct akv_aes_sched ks;
	uint8_t opc[16];
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct load_sched) == 192, "a schedule is three cache lines");

struct load_subs {
	struct load_sub *v;
	size_t n;
	void *mem;	/* the allocation v is aligned in (NULL: v itself) */
	size_t mem_len; /* > 0: mem is a mapping of that length */
	/* v[i]'s schedule is ks[i]; NULL when the CPU lacks AES-NI (only the
	 * ref backend runs then, and it takes no schedule) */
	struct load_sched *ks;
	void *ks_mem;	   /* as mem, for ks */
	size_t ks_mem_len; /* as mem_len, for ks */
	/* every record's identities are inline (nothing beside the record to
	 * prefetch), and within its first line (one line to prefetch) */
	uint8_t ids_inline, ids_line0;
};

/* Reads the CSV of `akavs sub import` (header impi,impus,k,op,opc,amf,sqn;
 * exactly one of op/opc; OPc derived from OP). Returns 0, or -1 after
 * printing "file:line: reason" to stderr. */
int load_subs_read(const char *path, struct load_subs *s);
/* Expands every K's AES schedule once (s->ks, with OPc beside it), so that
 * the vector check expands none per vector: call when vectors are checked
 * with a kernel that reads schedules (AES-NI, VAES; the reference takes K
 * itself). */
void load_subs_expand(struct load_subs *s);
/* Wipes the keys and their schedules, and frees. */
void load_subs_free(struct load_subs *s);

/* Zipf(s) sampler over ranks 0..n-1 (rank 0 hottest), by inverse CDF. */
struct load_zipf {
	double *cdf;
	size_t n;
};
void load_zipf_init(struct load_zipf *z, size_t n, double s);
size_t load_zipf_pick(const struct load_zipf *z, uint64_t *rng);
void load_zipf_free(struct load_zipf *z);

/* ==== Operations ==== */

enum load_op {
	LOAD_OP_CHALLENGE, /* CHALLENGE, check the vector */
	LOAD_OP_VERIFY,	   /* CHALLENGE, then VERIFY with the right RES: expect OK + CK/IK */
	LOAD_OP_WRONG,	   /* CHALLENGE, then VERIFY with a wrong RES: expect FAIL/DEREGISTER */
	LOAD_OP_RESYNC,	   /* CHALLENGE, then RESYNC with a valid AUTS: check the new vector */
	LOAD_OP_VECTORS,   /* VECTORS n: check every quintet */
	LOAD_OP_MIX,	   /* 50 % challenge, 30 verify, 5 wrong, 5 resync, 10 vectors */
	LOAD_OP_REGISTER,  /* Diameter: MAR, check the vector, then SAR (load_dia.c) */
	LOAD_OP_NUM
};

/* ==== Connections, slots, threads ==== */

struct load_slot {
	uint64_t t_sent; /* ns, when the current request was queued */
	uint32_t sub;	 /* subscriber index */
	uint32_t rank;	 /* its rank in the thread's share (t->busy index) */
	uint16_t seq;	 /* bumps per request: stale ids are detected */
	uint8_t op;	 /* enum load_op of this transaction (never MIX) */
	uint8_t step;	 /* 0: first request, 1: second */
	uint8_t active;
	/* state carried between the steps of a transaction (secrets: wiped) */
	uint8_t rand[16], autn[16], res[8], ck[16], ik[16];
	uint64_t sqn;
	uint64_t t_begin; /* ns, when the transaction's first request was queued (REGISTER) */
};

struct load_tls_conn;

struct load_conn {
	int fd;
	uint16_t gen;
	uint8_t dirty, closed, recv_armed;
	struct akv_bring_rx rx;
	struct akv_bring_tx tx;	     /* requests (plaintext) */
	struct load_tls_conn *tls;   /* NULL: plain TCP (load_tls.h) */
	struct load_slot *slots; /* depth entries */
	struct load_thread *t;
};

struct load_counters {
	uint64_t requests;     /* answered round trips */
	uint64_t transactions; /* finished transactions */
	uint64_t vectors;      /* vectors received and checked */
	uint64_t err_answers;  /* error answers from the server */
	uint64_t err_check;    /* MAC-A, RES, CK/IK or SQN mismatch */
	uint64_t err_verdict;  /* unexpected VERIFY verdict */
	uint64_t err_proto;    /* undecodable frame or unknown id */
	uint64_t conn_lost;    /* connections closed under us */
	/* REGISTER (Diameter): SAAs received; of those, registrations the
	 * server accepted (2001 with the profile); of those, first ones;
	 * de-registrations the server accepted (--deregister) */
	uint64_t sars, registered, registered_first, deregistered;
};

#define LOAD_AHEAD 16

struct load_cfg;
struct load_proto;
struct load_pending;

struct load_thread {
	const struct load_cfg *cfg;
	const struct load_proto *proto;
	unsigned idx;
	struct akv_bring b;
	struct load_conn *conns;
	unsigned nconns;
	uint32_t *dirty;
	unsigned ndirty;
	/* slots left idle because every subscriber was busy: conn << 16 | slot */
	uint32_t *idle;
	unsigned nidle;
	uint64_t rng;
	uint64_t now; /* ns, read once per completion batch */
	int stopping; /* deadline passed: no new transactions */
	unsigned inflight;
	struct akv_hist hist;
	struct load_counters c;
	int rc;
	/* subscribers this thread uses: index = rank * threads + idx */
	size_t nsubs;
	size_t touch_pos; /* touch_all: next rank to request */
	struct load_zipf zipf;
	/* the next LOAD_AHEAD subscriber draws (load_pick), being prefetched;
	 * ahead_pos: the oldest */
	size_t ahead[LOAD_AHEAD];
	unsigned ahead_pos, ahead_init;
	uint8_t *busy; /* per local rank: a transaction is running on it */
	const struct akv_mil_impl *mil;
	/* vectors waiting for the batched check (load_check.c) */
	const struct load_sched *check_ks; /* the table's, when t->mil reads them */
	struct load_pending *pend;
	struct akv_mil_in *pin;
	struct akv_mil_usim_out *pout;
	unsigned npend;
	void *proto_state; /* the protocol module's per-thread state */
	/* whole transactions, recorded by modules whose transactions span
	 * several requests (REGISTER: MAR sent to SAA read) */
	struct akv_hist txn_hist;
};

/* A protocol module: how to delimit frames, start a transaction on a slot,
 * and handle an answer. `id` identifies the slot; answers must echo it. */
struct load_proto {
	const char *name;
	/* ids on the wire carry only slot and sequence (32 bits, e.g. Diameter's
	 * Hop-by-Hop Identifier): the connection is implied by the socket */
	int id32;
	/* start reads a subscriber's IMPU through load_sub_impu(), never
	 * sub->impu: when every record's identities are inline in its first
	 * line (load_subs.ids_line0), load_pick prefetches that line only */
	int impu_line0;
	akv_bring_len_fn frame_len;
	/* Optional: run on a freshly connected blocking socket before the load
	 * starts (e.g. Diameter CER/CEA). Returns 0 or <0 (message printed). */
	int (*handshake)(struct load_thread *t, struct load_conn *c);
	/* Optional: per-thread state (t->proto_state), set up before the
	 * connections (0 or <0, message printed) and released at the end. */
	int (*thread_init)(struct load_thread *t);
	void (*thread_fini)(struct load_thread *t);
	/* Writes the first request of a new transaction; returns its length or <0. */
	int (*start)(struct load_thread *t, struct load_slot *s, uint64_t id, uint8_t *out,
		     size_t cap);
	/* The id of an answer frame: 0, >0 for a frame that answers no slot and
	 * is skipped (e.g. a peer's watchdog request), <0 when not decodable. */
	int (*answer_id)(const uint8_t *f, size_t len, uint64_t *id);
	/* Handles the answer to slot s. Returns 0 when the transaction is over,
	 * >0 the length of the next request written to out (id already in it),
	 * <0 when the frame is malformed (the connection is then closed). Counts
	 * vectors and errors in t->c. */
	int (*answer)(struct load_thread *t, struct load_slot *s, uint64_t id, const uint8_t *f,
		      size_t len, uint8_t *out, size_t cap);
};

struct load_cfg {
	struct sockaddr_in addr;
	unsigned conns, depth, threads;
	double seconds;
	enum load_op op;
	unsigned nvec; /* VECTORS: vectors per request */
	double zipf;   /* 0: uniform */
	int check;     /* 1: check every vector (default) */
	const struct load_subs *subs;
	/* echo protocol: message sizes */
	unsigned req_size, reply_size;
	/* Diameter: Destination-Realm of the MARs; AVS/1 with www: the realm
	 * of the WWW-Authenticate values (NULL: the IMPI's domain) */
	const char *dia_realm;
	int www; /* AVS/1: ask for (and check) WWW-Authenticate */
	/* one transaction per subscriber, in order, then stop (a warm-up that
	 * makes the server load every subscriber and reserve its SQNs) */
	int touch_all;
	/* REGISTER: the UE de-registers after each registration (SAR
	 * USER_DEREGISTRATION), so that every registration is a first one */
	int deregister;
	int cpu; /* first CPU to pin threads to, -1: none */
	/* --tls-ca given: TLS on every connection, the server's certificate
	 * checked for tls_host (the --connect address) */
	struct ssl_ctx_st *tls_ctx;
	char tls_host[64];
};

struct load_result {
	double seconds;
	struct load_counters c;
	struct akv_hist hist;
	struct akv_hist txn_hist; /* see load_thread */
	double requests_per_s, vectors_per_s;
	uint64_t errors;
};

/* Blocking I/O on a connection before the ring takes it (a handshake such
 * as Diameter's CER): over TLS when the conn has it; like send(2) / recv(2). */
ssize_t load_conn_send_blocking(struct load_conn *c, const void *p, size_t n);
ssize_t load_conn_recv_blocking(struct load_conn *c, void *p, size_t n);

extern const struct load_proto load_proto_echo; /* load_echo.c */
extern const struct load_proto load_proto_avs1; /* load_avs1.c */
extern const struct load_proto load_proto_dia;	/* load_dia.c */

/* Vector checks (load_check.c). load_check_vec() records RAND, AUTN, CK,
 * IK in the slot of a transaction that goes on with them (VERIFY, WRONG,
 * RESYNC: a later VERIFY answer must return that CK/IK) and queues
 * the vector for a batched check: MAC-A over the unmasked SQN, and ck, ik,
 * xres (each optional) against the recomputed values; SQN >= sqn_min when
 * non-zero. Mismatches count in t->c.err_check when the batch runs
 * (load_check_flush, once per completion batch and when the queue is
 * full: one USIM-side Milenage pass, akv_mil_impl.usim, over the batch).
 * Returns -1 at once for a malformed vector (XRES not 8 bytes). */
#define LOAD_CHECK_BATCH 256
void load_check_init(struct load_thread *t);
void load_check_fini(struct load_thread *t);
int load_check_vec(struct load_thread *t, struct load_slot *s, const uint8_t rand[16],
		   const uint8_t autn[16], const uint8_t *ck, const uint8_t *ik,
		   const uint8_t *xres, unsigned xres_len, uint64_t sqn_min);
void load_check_flush(struct load_thread *t);
/* Computes s->res and s->sqn for s->rand / s->autn at once (what VERIFY and
 * RESYNC need to go on). */
void load_derive(struct load_thread *t, struct load_slot *s);
/* Builds the AUTS a USIM at SQN_MS = s->sqn + 64 returns for s->rand; sets
 * s->sqn = SQN_MS (the new vector's SQN must then be above it). */
void load_make_auts(struct load_thread *t, struct load_slot *s, uint8_t auts[14]);

/* Frame sizes of the first request and answer of cfg->op in AVS/1 (the
 * first subscriber's identities), for the echo baseline. Returns 0 or -1. */
int load_avs1_sizes(const struct load_cfg *cfg, unsigned *req, unsigned *ans);
/* Same for Diameter: a MAR and an MAA with cfg->nvec (VECTORS) or 1 items. */
int load_dia_sizes(const struct load_cfg *cfg, unsigned *req, unsigned *ans);
/* REGISTER's figures (registrations/s, MAR/s, SAR/s, latency per
 * registration): JSON members (",\"registrations\":..." to append to the
 * object) or text lines. */
void load_dia_report(FILE *f, const struct load_result *r, int json);

/* Picks a free subscriber for a new transaction (marks it busy) and the op
 * (resolving MIX). Returns 0, or -1 when every subscriber is busy. */
int load_pick(struct load_thread *t, struct load_slot *s);
/* Runs one load: connects, drives, joins. Returns 0 or -1 (message printed). */
int load_run(const struct load_cfg *cfg, const struct load_proto *proto, struct load_result *r);

#endif
