/*
 * fe_int.h - the front end's internals, shared by its two files: fe.c (the
 * loop, the receive and transmit paths) and fe_setup.c (creating, listening,
 * freeing). Nothing outside server/net includes it; the interface is fe.h.
 */
#ifndef AKV_SERVER_NET_FE_INT_H
#define AKV_SERVER_NET_FE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include <liburing.h>

#include "aka/cx.h"
#include "aka/eng.h"
#include "cfg.h"
#include "conn.h"
#include "disp/spsc.h"
#include "err.h"
#include "fe.h"
#include "log.h"
#include "proto/proto.h"

#define BGID 7 /* provided-buffer group id */
#define RING_ENTRIES 4096
#define STAGE_MAX 64 /* requests staged per worker before a push */

/* slot_take() resets a request with akv_eng_req_reset(): what lies before
 * impi, all in the slot's first line (eng.h, "Layout"); vec, digest and cx
 * point into the slot from slot_init() on. */
_Static_assert(offsetof(struct akv_eng_req, impi) <= 24 &&
		   offsetof(struct akv_eng_req, err) < offsetof(struct akv_eng_req, impi) &&
		   offsetof(struct akv_eng_req, resync_vectors) < offsetof(struct akv_eng_req, impi),
	       "struct akv_eng_req: header and response no longer lead the first line");

/* A request in flight: the engine request first, so the worker sees
 * struct akv_eng_req * and the front end gets its slot back by a cast.
 * What a CHALLENGE touches comes first, in the slot's first 1.8 KiB: the
 * request's first line and its IMPU line, the front end's line, ctx's first
 * line and the first vector; the parts only other ops use (the rest of
 * ctx and vec, digest, cx) follow. A slot is 8.25 KiB, so spread out over
 * the slot these five lines would sit on three 4 KiB pages, and on four
 * of every 64 cache sets (their offsets were multiples of 256). */
struct akv_fe_slot {
	struct akv_eng_req req;
	/* Front-end-only fields, on their own line: written per request, they
	 * would otherwise share the request's last line (vec, digest, cx),
	 * which the worker reads for every request and never writes. */
	struct akv_fe_slot *next __attribute__((aligned(64))); /* conn's done list */
	uint32_t conn;
	uint16_t gen;
	uint8_t op; /* req.op, read here: req's first line is the worker's until answered */
	uint8_t ctx_lines; /* of ctx, the encoder may read 1 or 2 (slot_take()) */
	struct akv_proto_slot ps;
	/* right after the line above, the other half of its 128-byte pair
	 * (the L2 fetches such pairs together): both are front-end-only */
	uint8_t ctx[AKV_PROTO_CTX_MAX] __attribute__((aligned(64)));
	/* line-aligned: a challenge's RAND, AUTN, CK, IK are then one line
	 * (eng.h) that crosses from the worker's core, not two */
	struct akv_eng_vec vec[AKV_VEC_MAX] __attribute__((aligned(64)));
	struct akv_eng_digest digest;
	struct akv_cx_req cx;
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct akv_fe_slot, ctx) % 128 == 64 &&
		   offsetof(struct akv_fe_slot, ctx) - offsetof(struct akv_fe_slot, next) == 64,
	       "struct akv_fe_slot: the front end's line and ctx's first no longer pair");

struct fe_listener {
	int fd;
	uint8_t armed;
	uint64_t rearm_at; /* accept failed (EMFILE...): retry after this */
	const struct akv_proto_ops *ops;
	struct akv_tls *tls; /* NULL: plain TCP (owned by the caller of akv_fe_listen_tls) */
	char addr[AKV_CFG_ADDR_MAX];
};

struct akv_fe {
	const struct akv_cfg *cfg;
#ifdef AKV_PASS_THROUGH_ENGINE
	int pass_fe; /* bench/ceiling.sh: answer in the front end, no hand-off */
#endif
	struct io_uring ring;
	uint64_t now; /* ms, CLOCK_MONOTONIC, updated per loop */

	struct fe_listener lis[AKV_FE_LISTENERS_MAX];
	unsigned nlis;

	struct akv_conn *conns;
	uint8_t *pst_mem; /* protocol states, pst_size each */
	size_t pst_size;
	uint32_t free_conn; /* pool free list head */
	unsigned nlive;
	uint32_t dirty_head;		     /* conns with bytes to send */
	uint32_t starved_head, starved_tail; /* conns waiting for a request slot */
	unsigned nobufs_waiting;

	struct io_uring_buf_ring *br;
	size_t br_size;
	uint8_t *bufs;
	unsigned nbufs, bufs_out, recycle_pending;
	int32_t *held_next;
	uint32_t *held_len;

	struct akv_fe_slot *slots;
	/* free slots as a stack of pointers in front-end memory, not a list
	 * through the slots: their lines move to the worker's core and back,
	 * and a list made every take wait for one to learn the next */
	struct akv_fe_slot **free_stk;
	unsigned nslots, nfree;

	struct akv_wrk *const *wrk;
	unsigned nwrk;	 /* shards, then the registrar if any */
	unsigned nshard; /* workers owning a shard of IMPIs */
	void **stage; /* nwrk * STAGE_MAX */
	unsigned *nstage;

	struct akv_spsc_wake wake;
	uint64_t wake_buf;
	int sigfd;
	struct signalfd_siginfo sig;
	struct __kernel_timespec tick;
	uint64_t last_idle_scan;

	unsigned unarmed; /* OP_WAKE/SIGNAL/TIMER bits waiting for an SQE */
	int stopping;
	uint64_t stop_deadline;
	uint64_t last_refuse_log;
	uint64_t last_tls_log; /* rate limit of TLS failure warnings */
	uint8_t scratch[AKV_PROTO_OUT_MAX]; /* conn_init greetings */
	struct akv_fe_stats st;
};

/* Returns a slot to the free stack (the next slot_take() may reuse it). */
static inline void
slot_put(struct akv_fe *fe, struct akv_fe_slot *s)
{
	AKV_ASSERT(fe->nfree < fe->nslots);
	fe->free_stk[fe->nfree++] = s;
}
#endif
