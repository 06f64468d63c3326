/*
 * cmd_serve.c - `akavs serve`: configuration, store, workers, front end,
 * and the orderly shutdown (DESIGN.md "Data flow", issue 4).
 *
 * Startup prints (stdout, one line each) what it listens on, the Milenage
 * kernel chosen and each worker with its CPU, then "ready". SIGTERM/SIGINT
 * arrive through a signalfd read by the front end's ring; all threads start
 * with them blocked, so no handler ever runs asynchronously.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include "admin.h"
#include "aka/cx_pending.h"
#include "akv_crypto.h"
#include "cfg.h"
#include "cmds.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "net/fe.h"
#include "net/tls.h"
#include "proto/avs1.h"
#include "proto/dia_peer.h"
#include "store/store.h"
#include "wrk/wrk.h"

enum listener_tls {
	TLS_NEVER,
	TLS_IF_CERT, /* TLS when [tls] cert is set (AVS/1) */
	TLS_ALWAYS,  /* a TLS-only listener ([diameter] tls-listen, RFC 6733 §13) */
};

/* The listeners: one line per protocol (address field in the config, ops).
 * Diameter (dia_peer.c) listens when [diameter] listen is set. */
static const struct {
	const char *name;
	size_t addr_off;
	const struct akv_proto_ops *ops;
	enum listener_tls tls;
} listeners[] = {
    {"AVS/1", offsetof(struct akv_cfg, listen), &akv_avs1_ops, TLS_IF_CERT},
    {"Diameter", offsetof(struct akv_cfg, dia.listen), &akv_dia_ops, TLS_NEVER},
    {"Diameter/TLS", offsetof(struct akv_cfg, dia.tls_listen), &akv_dia_ops, TLS_ALWAYS},
};

/* Diameter Cx is served (plain or over TLS) */
static int
diameter_on(const struct akv_cfg *cfg)
{
	return cfg->dia.listen[0] || cfg->dia.tls_listen[0];
}

struct serve {
	struct akv_cfg *cfg;
	struct akv_store *st;
	struct akv_fe *fe;
	struct akv_tls *tls; /* [tls]: server certificate and client policy, or NULL */
	struct akv_wrk **wrk;
	struct akv_cx_pending *pending; /* Cx "authentication pending" memo, or NULL */
	unsigned nwrk;	 /* started: the shards' workers, then the registrar */
	unsigned nshard; /* workers owning a shard */
	int sigfd;
};

/* STATS source (avs1.h): runs on the front-end thread inside on_msg. */
static void
put_stats(void *arg, struct akv_avs1_stats_writer *w)
{
	static const char *const opname[8] = {"other",	 "challenge", "verify", "resync",
					      "vectors", "sar",	      "uar",	"lir"};
	struct serve *s = arg;
	struct akv_fe_stats f;
	struct akv_eng_stats e, sum = {0};
	uint64_t reqs = 0, batches = 0, reg_reqs = 0, reg_cached = 0, reg_cache_bytes = 0;
	char key[32];

	akv_fe_stats(s->fe, &f);
	akv_avs1_stats_put(w, "conns.open", f.conns_open);
	akv_avs1_stats_put(w, "conns.accepted", f.conns_accepted);
	akv_avs1_stats_put(w, "conns.refused", f.conns_refused);
	akv_avs1_stats_put(w, "conns.not_allowed", f.conns_not_allowed);
	akv_avs1_stats_put(w, "inflight", f.inflight);
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "requests.%s", opname[i]);
		akv_avs1_stats_put(w, key, f.requests[i]);
	}
	akv_avs1_stats_put(w, "replies.direct", f.replies_direct);
	akv_avs1_stats_put(w, "answers", f.answers);
	akv_avs1_stats_put(w, "errors", f.answer_errors);
	akv_avs1_stats_put(w, "malformed", f.malformed + f.framing);
	akv_avs1_stats_put(w, "backpressure.recv_stops", f.recv_stops);
	akv_avs1_stats_put(w, "rx_bytes", f.rx_bytes);
	akv_avs1_stats_put(w, "tx_bytes", f.tx_bytes);
	for (unsigned i = 0; i < s->nwrk; i++) {
		uint64_t r, b;

		akv_wrk_stats(s->wrk[i], &e);
		akv_wrk_counts(s->wrk[i], &r, &b);
		reqs += r;
		batches += b;
		sum.challenges += e.challenges;
		sum.verifies_ok += e.verifies_ok;
		sum.verifies_fail += e.verifies_fail;
		sum.deregisters += e.deregisters;
		sum.resyncs += e.resyncs;
		sum.resync_bad_mac += e.resync_bad_mac;
		sum.vectors += e.vectors;
		sum.unknown_user += e.unknown_user;
		sum.fsyncs += e.fsyncs;
		sum.store_errors += e.store_errors;
		if (i < s->nshard) {
			sum.cached_subs += e.cached_subs;
			sum.cache_bytes += e.cache_bytes;
		} else {
			/* the registrar caches the subscribers it registers apart */
			reg_cached = e.cached_subs;
			reg_cache_bytes = e.cache_bytes;
			reg_reqs = r;
		}
	}
	akv_avs1_stats_put(w, "workers", s->nshard);
	akv_avs1_stats_put(w, "registrar", s->nwrk > s->nshard);
	if (s->nwrk > s->nshard) {
		akv_avs1_stats_put(w, "registrar.requests", reg_reqs);
		akv_avs1_stats_put(w, "registrar.cached_subs", reg_cached);
		akv_avs1_stats_put(w, "registrar.cache_bytes", reg_cache_bytes);
	}
	if (s->pending) {
		struct akv_cx_pending_stats p;

		akv_cx_pending_stats(s->pending, &p);
		akv_avs1_stats_put(w, "cx.auth_pending.noted", p.noted);
		akv_avs1_stats_put(w, "cx.auth_pending.found", p.found);
		akv_avs1_stats_put(w, "cx.auth_pending.evicted", p.evicted);
		akv_avs1_stats_put(w, "cx.auth_pending.names_full", p.names_full);
	}
	akv_avs1_stats_put(w, "worker.batches", batches);
	akv_avs1_stats_put(w, "worker.requests", reqs);
	akv_avs1_stats_put(w, "eng.challenges", sum.challenges);
	akv_avs1_stats_put(w, "eng.verifies_ok", sum.verifies_ok);
	akv_avs1_stats_put(w, "eng.verifies_fail", sum.verifies_fail);
	akv_avs1_stats_put(w, "eng.deregisters", sum.deregisters);
	akv_avs1_stats_put(w, "eng.resyncs", sum.resyncs);
	akv_avs1_stats_put(w, "eng.resync_bad_mac", sum.resync_bad_mac);
	akv_avs1_stats_put(w, "eng.vectors", sum.vectors);
	akv_avs1_stats_put(w, "eng.unknown_user", sum.unknown_user);
	akv_avs1_stats_put(w, "eng.fsyncs", sum.fsyncs);
	akv_avs1_stats_put(w, "eng.store_errors", sum.store_errors);
	akv_avs1_stats_put(w, "store.commits", akv_store_commit_count(s->st));
	akv_avs1_stats_put(w, "eng.cached_subs", sum.cached_subs);
	akv_avs1_stats_put(w, "eng.cache_bytes", sum.cache_bytes);
	if (s->tls) {
		akv_avs1_stats_put(w, "tls.handshakes", f.tls_handshakes);
		akv_avs1_stats_put(w, "tls.handshake_failures", f.tls_handshake_failures);
		akv_avs1_stats_put(w, "tls.handshake_timeouts", f.tls_handshake_timeouts);
		akv_avs1_stats_put(w, "tls.record_errors", f.tls_errors);
	}
	if (diameter_on(s->cfg)) {
		const struct akv_dia_stats *d = &akv_dia_totals;

		akv_avs1_stats_put(w, "dia.rx", d->rx);
		akv_avs1_stats_put(w, "dia.cx_requests", d->cx_req);
		akv_avs1_stats_put(w, "dia.error_answers", d->tx_err);
		akv_avs1_stats_put(w, "dia.malformed", d->malformed);
		akv_avs1_stats_put(w, "dia.peers_refused", d->peers_refused);
		akv_avs1_stats_put(w, "dia.dwr_sent", d->dwr_sent);
		akv_avs1_stats_put(w, "dia.dwr_received", d->dwr_rx);
	}
}

/* Room for every connection's fd plus store, ring, eventfds and slack. */
static void
raise_nofile(const struct akv_cfg *cfg)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)cfg->max_conns + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < want)
		akv_log(AKV_LOG_WARN, "open-file limit %llu is below max-conns %u + 256",
			(unsigned long long)rl.rlim_cur, cfg->max_conns);
}

static int
signals_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	/* before any thread starts: workers inherit the mask */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static int
is_loopback(const char *addr)
{
	char host[AKV_CFG_ADDR_MAX];
	uint8_t a[16];
	uint16_t port;

	if (akv_cfg_split_addr(addr, host, sizeof(host), &port))
		return 0;
	if (!strcmp(host, "localhost"))
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	return inet_pton(AF_INET6, host, a) == 1 && !memcmp(a, &in6addr_loopback, 16);
}

/* AVS/1 hands out CK/IK and, through VECTORS, XRES to whoever connects:
 * say who may, and warn when that is anyone beyond this host. */
static void
say_allow_list(const struct akv_cfg *cfg, const char *name, const char *addr)
{
	if (cfg->nallow) {
		printf("allowed: %s clients from %u network(s) of [server] allow\n", name,
		       cfg->nallow);
		return;
	}
	printf("allowed: %s clients from any address\n", name);
	if (!is_loopback(addr))
		akv_log(AKV_LOG_WARN,
			"%s listens on %s with no allow list: any host that reaches it gets "
			"vectors (set [server] allow or --allow)",
			name, addr);
}

static int
open_listeners(struct serve *s)
{
	char bound[AKV_CFG_ADDR_MAX], err[AKV_CFG_ERR_MAX];

	for (size_t i = 0; i < sizeof(listeners) / sizeof(listeners[0]); i++) {
		const char *addr = (const char *)s->cfg + listeners[i].addr_off;
		struct akv_tls *tls = listeners[i].tls == TLS_NEVER ? NULL : s->tls;
		int r;

		if (!addr[0])
			continue;
		AKV_ASSERT(listeners[i].tls != TLS_ALWAYS || tls); /* akv_cfg_check() */
		r = akv_fe_listen_tls(s->fe, addr, listeners[i].ops, tls, bound, sizeof(bound),
				      err, sizeof(err));
		if (r) {
			fprintf(stderr, "akavs serve: %s\n", err);
			return r;
		}
		printf("listening: %s on %s\n", listeners[i].name, bound);
		if (tls)
			printf("tls: on for %s %s (TLS 1.2+, %s)\n", listeners[i].name, bound,
			       akv_tls_verifies_clients(tls)
				   ? "client certificates required"
				   : "server certificate only, clients not authenticated");
		if (listeners[i].ops->allow_list)
			say_allow_list(s->cfg, listeners[i].name, addr);
	}
	return 0;
}

/* Worker i's CPU: from --cpus, else the i-th CPU this process may run on
 * (containers and taskset often exclude CPU 0), -1 if none is known. */
static int
worker_cpu(const struct akv_cfg *cfg, unsigned i)
{
	cpu_set_t set;
	unsigned n, k = 0;

	if (cfg->ncpus)
		return cfg->cpus[i % cfg->ncpus];
	if (sched_getaffinity(0, sizeof(set), &set) || (n = (unsigned)CPU_COUNT(&set)) == 0)
		return -1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set) && k++ == i % n)
			return c;
	return -1;
}

static int
start_workers(struct serve *s)
{
	const struct akv_cfg *cfg = s->cfg;
	int err = 0;

	/* TS 29.228 §6.3.1: MARs note their S-CSCF for the I-CSCF's UAR */
	if (diameter_on(cfg) && cfg->dia.auth_pending_max) {
		s->pending = akv_cx_pending_new(cfg->dia.auth_pending_max, AKV_CX_PENDING_TTL_MS);
		s->cfg->eng.cx_pending = s->pending;
	}
	s->wrk = akv_calloc(cfg->workers + 1, sizeof(*s->wrk));
	for (unsigned i = 0; i < cfg->workers; i++) {
		int cpu = worker_cpu(cfg, i);

		s->wrk[i] = akv_wrk_start(cfg, s->st, i, cpu, akv_fe_ring_cap(cfg),
					  akv_fe_wake(s->fe), &err);
		if (!s->wrk[i]) {
			fprintf(stderr, "akavs serve: worker %u: %s\n", i, akv_strerror(err));
			return err;
		}
		s->nwrk++;
		if (cpu >= 0)
			printf("worker %u: shard %u/%u on CPU %d\n", i, i, cfg->workers, cpu);
		else
			printf("worker %u: shard %u/%u, not pinned\n", i, i, cfg->workers);
	}
	s->nshard = s->nwrk;
	/* Only Diameter Cx carries registration state (SAR, UAR, LIR). The
	 * registrar is not pinned: it mostly waits for the disk, and the
	 * scheduler puts it on whichever CPU is free when it has work. */
	if (diameter_on(cfg)) {
		s->wrk[s->nwrk] = akv_wrk_start_registrar(cfg, s->st, -1, akv_fe_ring_cap(cfg),
							  akv_fe_wake(s->fe), &err);
		if (!s->wrk[s->nwrk]) {
			fprintf(stderr, "akavs serve: registrar: %s\n", akv_strerror(err));
			return err;
		}
		s->nwrk++;
		printf("registrar: Cx registration state (SAR, UAR, LIR), not pinned\n");
	}
	akv_fe_set_workers(s->fe, s->wrk, s->nshard, s->nwrk > s->nshard);
	return 0;
}

static int
stop_workers(struct serve *s)
{
	int rc = 0;

	for (unsigned i = 0; i < s->nwrk; i++) {
		int r = akv_wrk_stop(s->wrk[i]);

		if (r) {
			akv_log(AKV_LOG_ERR, "worker %u: final SQN flush failed: %s", i,
				akv_strerror(r));
			rc = r;
		}
	}
	akv_free(s->wrk);
	s->wrk = NULL;
	s->nwrk = 0;
	s->cfg->eng.cx_pending = NULL;
	akv_cx_pending_free(s->pending);
	s->pending = NULL;
	s->nshard = 0;
	return rc;
}

static int
open_store(struct serve *s)
{
	char what[4200];
	int err;

	/* the store keeps only the derived record key; its error detail names
	 * the cause (sealed without key, wrong key, schema), never a key */
	s->st = akv_admin_open("serve", s->cfg->db_dir, 0, 0,
			       s->cfg->master_key_file[0] ? s->cfg->master_key_file : NULL);
	if (!s->st)
		return AKV_ESTORE;
	/* a new serving run, durable before any vector: SQN reservations stand
	 * for a window in each later run (store.h "Boot windows") */
	err = akv_store_boot_begin(s->st, &s->cfg->eng.boot);
	if (err) {
		snprintf(what, sizeof(what), "store %s: cannot record a new run", s->cfg->db_dir);
		akv_admin_err("serve", what, err);
		return err;
	}
	printf("store: %s%s, run %llu\n", s->cfg->db_dir,
	       akv_store_sealed(s->st) ? " (sealed: K/OPc encrypted at rest)" : "",
	       (unsigned long long)s->cfg->eng.boot);
	return 0;
}

static int
serve_run(struct serve *s)
{
	char err[AKV_CFG_ERR_MAX] = "";
	int r, e = 0;

	s->fe = akv_fe_new(s->cfg, &e, err, sizeof(err));
	if (!s->fe) {
		fprintf(stderr, "akavs serve: %s\n", err);
		return e;
	}
	if ((r = open_listeners(s)))
		return r;
	akv_avs1_set_stats_source(put_stats, s);
	printf("milenage kernel: %s (%u lanes)\n", akv_mil_best()->name, akv_mil_best()->lanes);
	if ((r = start_workers(s)))
		return r;
	printf("ready: %u workers, max %u connections, %u requests in flight\n", s->nshard,
	       s->cfg->max_conns, s->cfg->max_inflight);
	fflush(stdout);
	r = akv_fe_run(s->fe, s->sigfd);
	e = stop_workers(s);
	return r ? r : e;
}

/* see cmds.h */
int
akv_cmd_serve(int argc, char **argv)
{
	struct serve s = {.sigfd = -1};
	char err[AKV_CFG_ERR_MAX];
	int r;

#ifdef AKV_PASS_THROUGH_ENGINE
	/* bench/ceiling.sh's build: its vectors are zeros (eng_pass.c) */
	if (!getenv("AKAVS_PASS_THROUGH_OK")) {
		fprintf(stderr, "akavs serve: this is a pass-through benchmark build "
				"(AKV_PASS_THROUGH_ENGINE): its vectors are zeros; set "
				"AKAVS_PASS_THROUGH_OK=1 to run it for bench/ceiling.sh\n");
		return 2;
	}
	printf("engine: PASS-THROUGH benchmark build, vector answers are zeros: never deploy%s\n",
	       getenv("AKAVS_PASS_THROUGH_FE") ? " (answered in the front end)" : "");
#endif
	s.cfg = akv_calloc(1, sizeof(*s.cfg));
	r = akv_cfg_from_args(s.cfg, argc, argv, err, sizeof(err));
	if (r) {
		if (r < 0)
			fprintf(stderr, "akavs serve: %s\n", err);
		akv_free(s.cfg);
		return r > 0 ? 0 : 2;
	}
	if (s.cfg->dia.user_data_template[0]) {
		r = akv_dia_template_check(s.cfg->dia.user_data_template);
		if (r) {
			fprintf(stderr, "akavs serve: [diameter] user-data-template '%s': %s\n",
				s.cfg->dia.user_data_template, akv_strerror(r));
			akv_free(s.cfg);
			return 2;
		}
	}
	if (s.cfg->tls.cert[0]) {
		/* a certificate or key that does not load is a configuration
		 * error: the reason names the file, never its contents */
		s.tls = akv_tls_server_new(&s.cfg->tls, err, sizeof(err));
		if (!s.tls) {
			fprintf(stderr, "akavs serve: %s\n", err);
			akv_free(s.cfg);
			return 2;
		}
	}
	akv_log_set_level(s.cfg->log_level);
	if (akv_crypto_init())
		akv_log(AKV_LOG_WARN, "AKV_CRYPTO_IMPL backend unavailable here; using %s",
			akv_mil_best()->name);
	if (s.cfg->config_path[0])
		printf("config: %s\n", s.cfg->config_path);
	raise_nofile(s.cfg);
	s.sigfd = signals_block();
	if (s.sigfd < 0) {
		fprintf(stderr, "akavs serve: signalfd: %s\n", strerror(errno));
		akv_tls_free(s.tls);
		akv_free(s.cfg);
		return 1;
	}
	r = open_store(&s);
	if (!r)
		r = serve_run(&s);
	if (s.nwrk)
		stop_workers(&s);
	akv_cx_pending_free(s.pending);	/* when no worker started */
	akv_fe_free(s.fe);
	akv_tls_free(s.tls);
	akv_store_close(s.st);
	close(s.sigfd);
	akv_free(s.cfg);
	if (r)
		return 1;
	printf("stopped cleanly\n");
	return 0;
}
