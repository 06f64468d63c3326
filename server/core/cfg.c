/*
 * cfg.c - `akavs serve` configuration: one table of options drives both the
 * INI file (libinih) and the command line flags, so a key and its flag can
 * never disagree on type or limits.
 */
#include "cfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "err.h"

/* ==== Option table ==== */

enum opt_type {
	OPT_STR,  /* char[size] */
	OPT_UINT, /* unsigned, [min, max] */
	OPT_BOOL, /* int 0/1: yes/no/true/false/on/off/1/0 */
	OPT_CPUS, /* cpu list into cfg->cpus / ncpus */
	OPT_PEER, /* appends to cfg->dia.peers */
	OPT_NET,  /* appends to cfg->allow: ADDR[/PREFIX], several split by commas or spaces */
	OPT_LOG,  /* err|warn|info|debug */
};

struct opt {
	const char *section;
	const char *key;
	const char *flag; /* NULL: file only */
	enum opt_type type;
	size_t off;  /* offset in struct akv_cfg */
	size_t size; /* OPT_STR capacity */
	unsigned long min, max;
	const char *help;
};

#define F(field) offsetof(struct akv_cfg, field), sizeof(((struct akv_cfg *)0)->field)

static const struct opt opts[] = {
    {"server", "db", "--db", OPT_STR, F(db_dir), 0, 0,
     "LMDB store directory (default " AKV_CFG_DEFAULT_DB ")"},
    {"server", "master-key-file", "--master-key-file", OPT_STR, F(master_key_file), 0, 0,
     "master key of a sealed store (K/OPc encrypted at rest; akavs db keygen/seal)"},
    {"server", "listen", "--listen", OPT_STR, F(listen), 0, 0,
     "AVS/1 listener HOST:PORT (default " AKV_CFG_DEFAULT_LISTEN ")"},
    {"server", "workers", "--workers", OPT_UINT, F(workers), 1, AKV_CFG_WORKERS_MAX,
     "worker threads = subscriber shards (default: CPUs available - 1, at least 1)"},
    {"server", "cpus", "--cpus", OPT_CPUS, 0, 0, 0, 0, "CPUs to pin workers to, e.g. 0,2-3"},
    {"server", "max-conns", "--max-conns", OPT_UINT, F(max_conns), 1, 1u << 20,
     "connection limit; extra clients are refused (default 1024)"},
    {"server", "max-inflight", "--max-inflight", OPT_UINT, F(max_inflight), 1, 1u << 20,
     "requests queued at workers, all connections (default 2048)"},
    {"server", "max-inflight-conn", "--max-inflight-conn", OPT_UINT, F(max_inflight_conn), 1,
     1u << 16, "requests queued at workers per connection (default 256)"},
    {"server", "batch", "--batch", OPT_UINT, F(batch), 1, 4096,
     "most requests a worker runs at once (default 256)"},
    {"server", "rx-buffers", "--rx-buffers", OPT_UINT, F(rx_buffers), 8, 32768,
     "provided receive buffers of 16 KiB, power of two (default 512)"},
    {"server", "log-level", "--log-level", OPT_LOG, F(log_level), 0, 0,
     "err|warn|info|debug (default info)"},
    {"server", "allow", "--allow", OPT_NET, 0, 0, 0, 0,
     "AVS/1 clients allowed, ADDR[/PREFIX] (repeatable, comma-separated; default any)"},
    {"engine", "ind-bits", "--ind-bits", OPT_UINT, F(eng.ind_bits), 0, 10,
     "IND length in SQN (TS 33.102 C.3.2, default 5)"},
    {"engine", "max-vectors", "--max-vectors", OPT_UINT, F(eng.max_vectors), 1, AKV_VEC_MAX,
     "cap on vectors per request (default 8)"},
    {"engine", "challenge-ttl-ms", "--challenge-ttl-ms", OPT_UINT, F(eng.challenge_ttl_ms), 100,
     86400000, "pending challenge lifetime (default 60000)"},
    {"engine", "fail-limit", "--fail-limit", OPT_UINT, F(eng.fail_limit), 1, 255,
     "consecutive wrong answers before DEREGISTER (default 3)"},
    {"engine", "seq-reserve", "--seq-reserve", OPT_UINT, F(eng.seq_reserve), 1, 1000000,
     "SEQ values reserved durably per commit (default 1000)"},
    {"engine", "count-stale-as-fail", NULL, OPT_BOOL, F(eng.count_stale_as_fail), 0, 1,
     "a verify of an unknown/expired challenge counts as a failure"},
    {"diameter", "listen", "--diameter-listen", OPT_STR, F(dia.listen), 0, 0,
     "Diameter Cx listener HOST:PORT (default off; usual " AKV_CFG_DEFAULT_DIA_LISTEN ")"},
    {"diameter", "origin-host", "--origin-host", OPT_STR, F(dia.origin_host), 0, 0,
     "our Origin-Host"},
    {"diameter", "origin-realm", "--origin-realm", OPT_STR, F(dia.origin_realm), 0, 0,
     "our Origin-Realm"},
    {"diameter", "max-vectors", "--diameter-max-vectors", OPT_UINT, F(dia.max_vectors), 1,
     AKV_VEC_MAX, "cap on SIP-Number-Auth-Items (default 8)"},
    {"diameter", "watchdog-ms", "--diameter-watchdog-ms", OPT_UINT, F(dia.watchdog_ms), 1000,
     3600000, "DWR after this much peer silence, ms (default 30000, RFC 3539 Tw)"},
    {"diameter", "user-data-template", "--user-data-template", OPT_STR, F(dia.user_data_template),
     0, 0, "SAA User-Data XML template file (%PRIVATE%, %IMPU{..%IMPU%..}%; default built-in)"},
    {"diameter", "peer", "--peer", OPT_PEER, 0, 0, 0, 0,
     "allowed peer 'ORIGIN-HOST [ADDR] [ind=N]' (repeatable)"},
    {"diameter", "auth-pending-max", NULL, OPT_UINT, F(dia.auth_pending_max), 0, 1u << 26,
     "MAR S-CSCF names kept 4 min for the I-CSCF's UAR (TS 29.228 §6.3.1; 0 off; "
     "default 262144)"},
    {"diameter", "unregistered-services", NULL, OPT_BOOL, F(eng.cx_unreg_services), 0, 1,
     "an unregistered public identity has services (LIR 2003; no: 5003; default yes)"},
    {"diameter", "tls-listen", "--diameter-tls-listen", OPT_STR, F(dia.tls_listen), 0, 0,
     "Diameter Cx over TLS from the start HOST:PORT (RFC 6733 §13; needs [tls] cert)"},
    {"tls", "cert", "--tls-cert", OPT_STR, F(tls.cert), 0, 0,
     "PEM certificate (chain): the AVS/1 listener speaks TLS"},
    {"tls", "key", "--tls-key", OPT_STR, F(tls.key), 0, 0, "PEM private key of --tls-cert"},
    {"tls", "ca", "--tls-ca", OPT_STR, F(tls.ca), 0, 0,
     "PEM CA: TLS clients must present a certificate it signed"},
    {"tls", "handshake-timeout-ms", "--tls-handshake-timeout-ms", OPT_UINT, F(tls.handshake_ms),
     100, 600000, "a TLS handshake not done by then is closed (default 5000)"},
};

#undef F

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ==== Value parsers ==== */

static int
parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return AKV_EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return AKV_EINVAL;
	*out = v;
	return 0;
}

static int
parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i]))
			return *out = 1, 0;
		if (!strcasecmp(s, no[i]))
			return *out = 0, 0;
	}
	return AKV_EINVAL;
}

static int
parse_log(const char *s, int *out)
{
	static const char *const names[] = {"err", "warn", "info", "debug"};

	for (int i = 0; i < 4; i++)
		if (!strcasecmp(s, names[i]))
			return *out = i, 0;
	return AKV_EINVAL;
}

/* see cfg.h */
int
akv_cfg_parse_cpus(const char *s, uint16_t *cpus, unsigned max)
{
	unsigned n = 0;
	const char *p = s;

	while (*p) {
		char *end;
		unsigned long lo, hi;

		if (*p < '0' || *p > '9')
			return AKV_EINVAL;
		lo = strtoul(p, &end, 10);
		hi = lo;
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return AKV_EINVAL;
			hi = strtoul(p, &end, 10);
		}
		if (hi < lo || hi >= 65535 || hi - lo >= max)
			return AKV_EINVAL;
		for (unsigned long c = lo; c <= hi; c++) {
			if (n >= max)
				return AKV_EINVAL;
			cpus[n++] = (uint16_t)c;
		}
		if (*end == ',')
			end++;
		else if (*end)
			return AKV_EINVAL;
		p = end;
	}
	return n ? (int)n : AKV_EINVAL;
}

/* see cfg.h */
int
akv_cfg_split_addr(const char *s, char *host, size_t hostcap, uint16_t *port)
{
	const char *colon, *h = s;
	size_t hlen;
	unsigned long p;

	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return AKV_EINVAL;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return AKV_EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= hostcap)
		return AKV_EINVAL;
	if (parse_ulong(colon + 1, 0, 65535, &p))
		return AKV_EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return 0;
}

/* see cfg.h */
int
akv_cfg_parse_peer(const char *s, struct akv_cfg_peer *peer)
{
	char buf[AKV_CFG_NAME_MAX + AKV_CFG_ADDR_MAX + 32], *save = NULL, *tok;
	unsigned ntok = 0;

	if (strlen(s) >= sizeof(buf))
		return AKV_EINVAL;
	strcpy(buf, s);
	memset(peer, 0, sizeof(*peer));
	peer->ind = -1;
	for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		unsigned long ind;

		if (!strncmp(tok, "ind=", 4)) {
			if (parse_ulong(tok + 4, 0, 1023, &ind))
				return AKV_EINVAL;
			peer->ind = (int)ind;
		} else if (ntok == 0 && strlen(tok) < sizeof(peer->host)) {
			strcpy(peer->host, strcmp(tok, "*") ? tok : "");
			ntok++;
		} else if (ntok == 1 && strlen(tok) < sizeof(peer->addr)) {
			strcpy(peer->addr, strcmp(tok, "*") ? tok : "");
			ntok++;
		} else {
			return AKV_EINVAL;
		}
	}
	return ntok ? 0 : AKV_EINVAL;
}

/* see cfg.h */
int
akv_cfg_peer_ind(const struct akv_cfg *cfg, const char *origin_host, const char *addr)
{
	for (unsigned i = 0; i < cfg->dia.npeers; i++) {
		const struct akv_cfg_peer *p = &cfg->dia.peers[i];

		if (p->host[0] && (!origin_host || strcasecmp(p->host, origin_host)))
			continue;
		if (p->addr[0] && (!addr || strcmp(p->addr, addr)))
			continue;
		if (!p->host[0] && !p->addr[0])
			continue;
		if (p->ind >= 0)
			return p->ind;
	}
	return -1;
}

/* see cfg.h */
int
akv_cfg_parse_net(const char *s, struct akv_cfg_net *net)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	unsigned max, bits;

	memset(net, 0, sizeof(*net));
	if (alen == 0 || alen >= sizeof(buf))
		return AKV_EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, net->addr) == 1)
		net->family = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, buf, net->addr) == 1)
		net->family = AF_INET6, max = 128;
	else
		return AKV_EINVAL;
	prefix = max;
	if (slash && parse_ulong(slash + 1, 0, max, &prefix))
		return AKV_EINVAL;
	net->prefix = (uint8_t)prefix;
	/* host bits must be zero */
	for (bits = 0; bits < max; bits += 8) {
		unsigned keep = prefix > bits ? (prefix - bits >= 8 ? 8 : prefix - bits) : 0;
		uint8_t host = (uint8_t)(0xffu >> keep);

		if (net->addr[bits / 8] & host)
			return AKV_EINVAL;
	}
	return 0;
}

static int
net_holds(const struct akv_cfg_net *n, const uint8_t *addr)
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;

	if (memcmp(n->addr, addr, full))
		return 0;
	return !rest || !((n->addr[full] ^ addr[full]) & (uint8_t)(0xff00u >> rest));
}

/* see cfg.h */
int
akv_cfg_allowed(const struct akv_cfg *cfg, const struct sockaddr *sa)
{
	static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const uint8_t *addr;
	int family = sa->sa_family;

	if (!cfg->nallow)
		return 1;
	if (family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		addr = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		if (!memcmp(addr, v4_mapped, sizeof(v4_mapped)))
			family = AF_INET, addr += 12;
	} else {
		return 0;
	}
	for (unsigned i = 0; i < cfg->nallow; i++)
		if (cfg->allow[i].family == family && net_holds(&cfg->allow[i], addr))
			return 1;
	return 0;
}

/* Appends the networks of one allow value ("a, b c"). */
static int
allow_add(struct akv_cfg *cfg, const char *val, char *why, size_t whylen)
{
	char buf[1024], *save = NULL;
	int any = 0;

	if (strlen(val) >= sizeof(buf))
		return seterr(why, whylen, "allow list longer than %zu bytes", sizeof(buf) - 1),
		       AKV_EINVAL;
	strcpy(buf, val);
	for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (cfg->nallow >= AKV_CFG_ALLOW_MAX)
			return seterr(why, whylen, "more than %d allowed networks", AKV_CFG_ALLOW_MAX),
			       AKV_EINVAL;
		if (akv_cfg_parse_net(tok, &cfg->allow[cfg->nallow]))
			return seterr(why, whylen,
				      "'%s' is not ADDR or ADDR/PREFIX with zero host bits", tok),
			       AKV_EINVAL;
		cfg->nallow++;
		any = 1;
	}
	return any ? 0 : (seterr(why, whylen, "empty allow list"), AKV_EINVAL);
}

/* Applies one value to the field `o` describes. 0 or AKV_EINVAL + text in why. */
static int
opt_set(struct akv_cfg *cfg, const struct opt *o, const char *val, char *why, size_t whylen)
{
	char *field = (char *)cfg + o->off;
	unsigned long v;
	int r;

	switch (o->type) {
	case OPT_STR:
		if (strlen(val) >= o->size)
			return seterr(why, whylen, "value longer than %zu bytes", o->size - 1),
			       AKV_EINVAL;
		strcpy(field, val);
		return 0;
	case OPT_UINT:
		if (parse_ulong(val, o->min, o->max, &v))
			return seterr(why, whylen, "'%s' is not an integer in %lu..%lu", val,
				      o->min, o->max),
			       AKV_EINVAL;
		*(unsigned *)(void *)field = (unsigned)v;
		return 0;
	case OPT_BOOL:
		if (parse_bool(val, (int *)(void *)field))
			return seterr(why, whylen, "'%s' is not yes/no", val), AKV_EINVAL;
		return 0;
	case OPT_LOG:
		if (parse_log(val, (int *)(void *)field))
			return seterr(why, whylen, "'%s' is not err|warn|info|debug", val),
			       AKV_EINVAL;
		return 0;
	case OPT_CPUS:
		r = akv_cfg_parse_cpus(val, cfg->cpus, AKV_CFG_CPUS_MAX);
		if (r < 0)
			return seterr(why, whylen, "'%s' is not a CPU list like 0,2-3", val),
			       AKV_EINVAL;
		cfg->ncpus = (unsigned)r;
		return 0;
	case OPT_NET:
		return allow_add(cfg, val, why, whylen);
	case OPT_PEER:
		if (cfg->dia.npeers >= AKV_CFG_PEERS_MAX)
			return seterr(why, whylen, "more than %d peers", AKV_CFG_PEERS_MAX),
			       AKV_EINVAL;
		if (akv_cfg_parse_peer(val, &cfg->dia.peers[cfg->dia.npeers]))
			return seterr(why, whylen, "'%s' is not 'ORIGIN-HOST [ADDR] [ind=N]'", val),
			       AKV_EINVAL;
		cfg->dia.npeers++;
		return 0;
	}
	return AKV_EINVAL;
}

/* ==== Defaults ==== */

/* see cfg.h */
void
akv_cfg_default(struct akv_cfg *cfg)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	/* the CPUs we may run on (taskset, container limits), not all online */
	if (!sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) > 0)
		ncpu = CPU_COUNT(&set);
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->db_dir, sizeof(cfg->db_dir), "%s", AKV_CFG_DEFAULT_DB);
	snprintf(cfg->listen, sizeof(cfg->listen), "%s", AKV_CFG_DEFAULT_LISTEN);
	/* one CPU is left to the front end thread. On 2 CPUs (client on the
	 * same box) 1 worker served 1.1-1.7x the AVS/1 requests/s of 2 at
	 * 16 x 32 with 25-40% less CPU per request, and the lower 1 x 1
	 * latency; Diameter MAR/s was 5-20% lower. */
	ncpu -= 1;
	cfg->workers = ncpu < 1			    ? 1
		       : ncpu > AKV_CFG_WORKERS_MAX ? AKV_CFG_WORKERS_MAX
						    : (unsigned)ncpu;
	cfg->max_conns = 1024;
	cfg->max_inflight = 2048;
	cfg->max_inflight_conn = 256;
	/* A batch whose vectors pass a reservation (a subscriber's first
	 * vector ever, or after a burst) commits before it answers: taking
	 * whatever queued meanwhile, up to 256 (16 rounds of the VAES
	 * kernel's 16 lanes), made the first CHALLENGE of 100 000 new
	 * subscribers 2.6x faster than 64 did (90-94 k -> 234-255 k req/s,
	 * 1 563 -> 392 fsyncs); steady state at 16 x 32 did not move beyond
	 * the run-to-run noise. A batch never waits for more work. */
	cfg->batch = 256;
	cfg->rx_buffers = 512;
	cfg->log_level = AKV_CFG_LOG_INFO;
	akv_eng_cfg_default(&cfg->eng);
	cfg->dia.max_vectors = 8;
	cfg->dia.auth_pending_max = 1u << 18;	/* 16 B each: 4 MiB */
	cfg->tls.handshake_ms = 5000;
}

/* ==== INI file ==== */

struct ini_ctx {
	struct akv_cfg *cfg;
	int lineno; /* lines seen so far, for the message of the first error */
	char why[AKV_CFG_ERR_MAX];
};

static int
on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;

	if (x->why[0])
		return 1; /* keep only the first error; inih reports its line */
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		char why[AKV_CFG_ERR_MAX - 64];

		if (strcmp(opts[i].section, section) || strcmp(opts[i].key, name))
			continue;
		if (opt_set(x->cfg, &opts[i], value, why, sizeof(why)) == 0)
			return 1;
		seterr(x->why, sizeof(x->why), "[%s] %s: %s", section, name, why);
		return 0;
	}
	seterr(x->why, sizeof(x->why), "unknown key '%s' in section [%s]", name, section);
	return 0;
}

/* see cfg.h */
int
akv_cfg_load(struct akv_cfg *cfg, const char *path, char *err, size_t errlen)
{
	struct ini_ctx x = {.cfg = cfg};
	FILE *f;
	int line;

	if (strlen(path) >= sizeof(cfg->config_path))
		return seterr(err, errlen, "%s: path too long", path), AKV_EINVAL;
	f = fopen(path, "r");
	if (!f) {
		int e = errno;

		seterr(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	line = ini_parse_file(f, on_ini, &x);
	fclose(f);
	if (line != 0) {
		/* line > 0: first line the handler rejected or inih could not parse */
		seterr(err, errlen, "%s:%d: %s", path, line, x.why[0] ? x.why : "syntax error");
		return AKV_EINVAL;
	}
	strcpy(cfg->config_path, path);
	return 0;
}

/* ==== Flags ==== */

/* The placeholder shown after a flag in --help. */
static const char *
opt_meta(const struct opt *o)
{
	switch (o->type) {
	case OPT_UINT:
		return "N";
	case OPT_BOOL:
		return "yes|no";
	case OPT_CPUS:
		return "LIST";
	case OPT_PEER:
		return "SPEC";
	case OPT_NET:
		return "NETS";
	case OPT_LOG:
		return "LEVEL";
	case OPT_STR:
		break;
	}
	if (strstr(o->key, "listen"))
		return "HOST:PORT";
	if (strstr(o->key, "-file") || !strcmp(o->section, "tls"))
		return "FILE";
	return strcmp(o->key, "db") ? "NAME" : "DIR";
}

/* see cfg.h */
void
akv_cfg_usage(FILE *f)
{
	fprintf(f, "usage: akavs serve [--config FILE] [options]\n\n"
		   "Flags override the file; the file's [section] key is shown after each flag.\n\n"
		   "  --config FILE                INI configuration file (see docs/akavs.ini)\n");
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		char flag[64];

		if (!opts[i].flag)
			continue;
		snprintf(flag, sizeof(flag), "%s %s", opts[i].flag, opt_meta(&opts[i]));
		fprintf(f, "  %-28s %s  [%s] %s\n", flag, opts[i].help, opts[i].section,
			opts[i].key);
	}
	fprintf(f, "\nStartup prints the listeners, the Milenage kernel and each worker's CPU.\n"
		   "SIGTERM/SIGINT: stop accepting, answer in-flight requests, flush SQN state,\n"
		   "exit 0. Exit status: 0 clean stop, 1 runtime failure, 2 bad configuration.\n");
}

static const struct opt *
find_flag(const char *arg, const char **inline_val)
{
	size_t alen = strcspn(arg, "=");

	*inline_val = arg[alen] == '=' ? arg + alen + 1 : NULL;
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (opts[i].flag && strlen(opts[i].flag) == alen &&
		    !strncmp(opts[i].flag, arg, alen))
			return &opts[i];
	return NULL;
}

/* see cfg.h */
int
akv_cfg_from_args(struct akv_cfg *cfg, int argc, char **argv, char *err, size_t errlen)
{
	int r;

	akv_cfg_default(cfg);
	/* The file first, wherever --config appears, so flags always win. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			akv_cfg_usage(stdout);
			return 1;
		}
		if (!strncmp(argv[i], "--config=", 9) || !strcmp(argv[i], "--config")) {
			const char *path = argv[i][8] == '=' ? argv[i] + 9 : argv[i + 1];

			if (!path)
				return seterr(err, errlen, "--config: missing FILE"), AKV_EINVAL;
			r = akv_cfg_load(cfg, path, err, errlen);
			if (r)
				return r;
			i += argv[i][8] != '=';
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *val;
		const struct opt *o;
		char why[AKV_CFG_ERR_MAX - 64];

		if (!strncmp(argv[i], "--config=", 9))
			continue;
		if (!strcmp(argv[i], "--config")) {
			i++;
			continue;
		}
		o = find_flag(argv[i], &val);
		if (!o)
			return seterr(err, errlen, "%s: unknown option (see --help)", argv[i]),
			       AKV_EINVAL;
		if (!val) {
			if (i + 1 >= argc)
				return seterr(err, errlen, "%s: missing value", o->flag),
				       AKV_EINVAL;
			val = argv[++i];
		}
		if (opt_set(cfg, o, val, why, sizeof(why)))
			return seterr(err, errlen, "%s: %s", o->flag, why), AKV_EINVAL;
	}
	return akv_cfg_check(cfg, err, errlen);
}

/* see cfg.h */
int
akv_cfg_check(const struct akv_cfg *cfg, char *err, size_t errlen)
{
	char host[AKV_CFG_ADDR_MAX];
	uint16_t port;
	unsigned rb = cfg->rx_buffers;

	if (!cfg->db_dir[0])
		return seterr(err, errlen, "db: empty store directory"), AKV_EINVAL;
	if (!cfg->listen[0] && !cfg->dia.listen[0] && !cfg->dia.tls_listen[0])
		return seterr(err, errlen, "listen: no listener configured"), AKV_EINVAL;
	if (cfg->dia.tls_listen[0] &&
	    akv_cfg_split_addr(cfg->dia.tls_listen, host, sizeof(host), &port))
		return seterr(err, errlen, "diameter tls-listen: '%s' is not HOST:PORT",
			      cfg->dia.tls_listen),
		       AKV_EINVAL;
	if (!cfg->tls.cert[0] != !cfg->tls.key[0])
		return seterr(err, errlen, "tls: cert and key go together (one is missing)"),
		       AKV_EINVAL;
	if (cfg->tls.ca[0] && !cfg->tls.cert[0])
		return seterr(err, errlen, "tls: ca needs a server cert and key"), AKV_EINVAL;
	if (cfg->dia.tls_listen[0] && !cfg->tls.cert[0])
		return seterr(err, errlen, "diameter tls-listen needs [tls] cert and key"),
		       AKV_EINVAL;
	if (cfg->listen[0] && akv_cfg_split_addr(cfg->listen, host, sizeof(host), &port))
		return seterr(err, errlen, "listen: '%s' is not HOST:PORT", cfg->listen),
		       AKV_EINVAL;
	if (cfg->dia.listen[0] && akv_cfg_split_addr(cfg->dia.listen, host, sizeof(host), &port))
		return seterr(err, errlen, "diameter listen: '%s' is not HOST:PORT",
			      cfg->dia.listen),
		       AKV_EINVAL;
	if (cfg->workers < 1 || cfg->workers > AKV_CFG_WORKERS_MAX)
		return seterr(err, errlen, "workers: %u not in 1..%d", cfg->workers,
			      AKV_CFG_WORKERS_MAX),
		       AKV_EINVAL;
	if (rb & (rb - 1))
		return seterr(err, errlen, "rx-buffers: %u is not a power of two", rb), AKV_EINVAL;
	if (cfg->max_inflight_conn > cfg->max_inflight)
		return seterr(err, errlen, "max-inflight-conn %u exceeds max-inflight %u",
			      cfg->max_inflight_conn, cfg->max_inflight),
		       AKV_EINVAL;
	if (cfg->eng.max_vectors < 1 || cfg->eng.max_vectors > AKV_VEC_MAX)
		return seterr(err, errlen, "max-vectors: not in 1..%d", AKV_VEC_MAX), AKV_EINVAL;
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		long n = sysconf(_SC_NPROCESSORS_CONF);

		if (n > 0 && cfg->cpus[i] >= n)
			return seterr(err, errlen,
				      "cpus: CPU %u does not exist (this host has %ld)",
				      cfg->cpus[i], n),
			       AKV_EINVAL;
	}
	return 0;
}
