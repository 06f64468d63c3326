/*
 * dia_peer.c - Diameter peer state machine (RFC 6733 §5.3-5.6, RFC 3539
 * watchdog) as an akv_proto_ops for the io_uring front end: CER/CEA with the
 * allowed-peer check, DWR/DWA both ways, DPR/DPA, protocol-error answers, and
 * hand-off of Cx requests to dia_cx.c once the peer is open.
 */
#include "proto/dia_peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/err.h"
#include "core/mem.h"

/* see dia_peer.h */
struct akv_dia_stats akv_dia_totals;

#define PRODUCT_NAME "akavs"

/* ==== Identity ==== */

/* RFC 6733 §8.16: Origin-State-Id increases whenever the node restarts and
 * loses state; the process start time in seconds does that. */
static uint32_t
origin_state_id(void)
{
	static atomic_uint start;
	unsigned v = atomic_load(&start);

	if (!v) {
		unsigned now = (unsigned)time(NULL), zero = 0;

		atomic_compare_exchange_strong(&start, &zero, now ? now : 1);
		v = atomic_load(&start);
	}
	return v;
}

/* Host-IP-Address: the listen address when it is a concrete IP, else
 * loopback (the only address a wildcard listener is sure to have). */
static void
pick_host_ip(struct akv_dia_conn *c, const char *listen)
{
	char host[AKV_CFG_ADDR_MAX];
	uint16_t port;
	uint8_t a6[16];
	struct in_addr a4;

	c->host_family = 1;
	c->host_ip[0] = 127;
	c->host_ip[1] = c->host_ip[2] = 0;
	c->host_ip[3] = 1;
	if (!listen || akv_cfg_split_addr(listen, host, sizeof(host), &port) < 0)
		return;
	if (inet_pton(AF_INET, host, &a4) == 1 && a4.s_addr != 0) {
		memcpy(c->host_ip, &a4, 4);
	} else if (inet_pton(AF_INET6, host, a6) == 1 && memcmp(a6, &in6addr_any, 16)) {
		c->host_family = 2;
		memcpy(c->host_ip, a6, 16);
	}
}

static void
copy_name(char *dst, const char *src, const char *dflt)
{
	const char *s = src && *src ? src : dflt;
	size_t n = strnlen(s, AKV_DIA_NAME_MAX - 1);

	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Reads the configured User-Data template (a few KB, once per Diameter
 * connection: peers connect rarely) into buf. Returns its length, or -errno /
 * AKV_ETOOBIG when it does not fit with its terminating NUL. */
static ssize_t
read_template(const char *path, char *buf, size_t cap)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap);
	close(fd);
	if (n < 0)
		return -errno;
	if ((size_t)n >= cap)
		return AKV_ETOOBIG;
	buf[n] = '\0';
	return n;
}

static int
load_template(struct akv_dia_conn *c, const char *path)
{
	ssize_t n = read_template(path, c->tmpl, sizeof(c->tmpl));

	if (n < 0)
		return (int)n;
	c->tmpl_len = (uint16_t)n;
	return 0;
}

/* see dia_peer.h */
int
akv_dia_template_check(const char *path)
{
	char *buf = akv_malloc(AKV_DIA_TMPL_MAX);
	ssize_t n = read_template(path, buf, AKV_DIA_TMPL_MAX);

	akv_free(buf);
	return n < 0 ? (int)n : 0;
}

/* Origin-Host and Origin-Realm as AVPs, once per connection: every answer
 * copies them (RFC 6733 §6.2: answers carry the answering node's identity). */
static int
encode_origin(struct akv_dia_conn *c)
{
	uint8_t tmp[AKV_DIA_HDR_LEN + sizeof(c->origin_avps)];
	struct akv_dia_wr w;
	int n;

	akv_dia_wr_init(&w, tmp, sizeof(tmp));
	akv_dia_wr_hdr(&w, 0, 0, 0, 0, 0);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, c->origin_host);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_REALM, 0, c->origin_realm);
	n = akv_dia_wr_finish(&w);
	if (n < 0)
		return n;	/* names are < AKV_DIA_NAME_MAX: never */
	c->origin_avps_len = (uint16_t)(n - AKV_DIA_HDR_LEN);
	memcpy(c->origin_avps, tmp + AKV_DIA_HDR_LEN, c->origin_avps_len);
	return 0;
}

/* see dia_peer.h */
int
akv_dia_conn_setup(struct akv_dia_conn *c, const struct akv_proto_conn_info *info)
{
	const struct akv_cfg *cfg = info->cfg;
	uint8_t r[8];

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->pending = cfg ? cfg->eng.cx_pending : NULL;
	c->state = AKV_DIA_WAIT_CER;
	c->ind = info->ind;
	c->tw_ms = cfg && cfg->dia.watchdog_ms ? cfg->dia.watchdog_ms : AKV_DIA_TW_MS;
	c->origin_state_id = origin_state_id();
	copy_name(c->origin_host, cfg ? cfg->dia.origin_host : NULL, "akavs.localdomain");
	copy_name(c->origin_realm, cfg ? cfg->dia.origin_realm : NULL, "localdomain");
	c->origin_host_len = (uint16_t)strlen(c->origin_host);
	if (encode_origin(c) < 0)
		return AKV_ETOOBIG;
	pick_host_ip(c, cfg ? cfg->dia.listen : NULL);
	c->max_vectors = cfg && cfg->dia.max_vectors ? cfg->dia.max_vectors
			 : cfg && cfg->eng.max_vectors ? cfg->eng.max_vectors : 8;
	if (c->max_vectors > AKV_VEC_MAX)
		c->max_vectors = AKV_VEC_MAX;
	memcpy(c->peer_addr, info->peer_addr, sizeof(c->peer_addr));
	c->peer_addr[sizeof(c->peer_addr) - 1] = '\0';
	/* §3: Hop-by-Hop starts random; End-to-End high 12 bits = low 12 bits
	 * of the time, low 20 bits random. */
	if (akv_rand_bytes(r, sizeof(r)) < 0)
		memset(r, 0x5a, sizeof(r));
	c->hbh_next = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
	c->e2e_next = ((uint32_t)time(NULL) & 0xfff) << 20 |
		      ((uint32_t)r[4] << 12 | (uint32_t)r[5] << 4 | (r[6] >> 4));
	if (cfg && cfg->dia.user_data_template[0])
		return load_template(c, cfg->dia.user_data_template);
	return 0;
}

/* see dia_peer.h */
void
akv_dia_put_origin(struct akv_dia_wr *w, const struct akv_dia_conn *c)
{
	akv_dia_put_raw(w, c->origin_avps, c->origin_avps_len);
}

/* ==== Answers ==== */

static void
put_failed(struct akv_dia_wr *w, const struct akv_dia_error *err)
{
	if (err->text)
		akv_dia_put_str(w, AKV_DIA_AVP_ERROR_MESSAGE, 0, err->text);
	if (err->failed_len) {
		akv_dia_group_begin(w, AKV_DIA_AVP_FAILED_AVP, 0);
		akv_dia_put_raw(w, err->failed, err->failed_len);
		akv_dia_group_end(w);
	}
}

/* see dia_peer.h */
int
akv_dia_answer_error(struct akv_dia_conn *c, const struct akv_dia_hdr *h, const uint8_t *msg,
		     size_t len, const struct akv_dia_error *err, uint8_t *out, size_t cap)
{
	struct akv_dia_wr w;
	struct akv_dia_avp sid;
	int proto_err = err->result_code >= 3000 && err->result_code < 4000;
	uint8_t flags = (h->flags & AKV_DIA_F_PROXY) | (proto_err ? AKV_DIA_F_ERR : 0);
	/* An Origin-Host-less answer is useless; the AVP area of a message
	 * rejected for its header bits is still walked safely by the finder. */
	int has_sid = akv_dia_find(msg + AKV_DIA_HDR_LEN, len - AKV_DIA_HDR_LEN,
				   AKV_DIA_AVP_SESSION_ID, 0, &sid);

	akv_dia_totals.tx_err++;
	akv_dia_wr_init(&w, out, cap);
	akv_dia_wr_hdr(&w, flags, h->cmd, h->app, h->hbh, h->e2e);
	if (has_sid && sid.len <= AKV_DIA_SID_MAX && akv_dia_avp_valid(&sid))
		akv_dia_put(&w, AKV_DIA_AVP_SESSION_ID, 0, sid.data, sid.len);
	if (h->app == AKV_DIA_APP_CX && !proto_err) {
		akv_dia_put_vsai(&w, AKV_DIA_VENDOR_3GPP, AKV_DIA_APP_CX);
		akv_dia_put_u32(&w, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);
	}
	akv_dia_put_origin(&w, c);
	akv_dia_put_u32(&w, AKV_DIA_AVP_RESULT_CODE, 0, err->result_code);
	put_failed(&w, err);
	return akv_dia_wr_finish(&w);
}

/* CEA (§5.3.2): result, identity, Host-IP-Address, Vendor-Id, Product-Name,
 * Origin-State-Id, and the Cx application (REFERENCE §7.1: Kamailio routes
 * nothing to a peer whose CEA lacks VSAI {10415, 16777216}). */
static int
build_cea(struct akv_dia_conn *c, const struct akv_dia_hdr *h, const struct akv_dia_error *err,
	  uint8_t *out, size_t cap)
{
	struct akv_dia_wr w;
	uint32_t rc = err ? err->result_code : AKV_DIA_SUCCESS;
	uint8_t flags = rc >= 3000 && rc < 4000 ? AKV_DIA_F_ERR : 0;

	akv_dia_wr_init(&w, out, cap);
	akv_dia_wr_hdr(&w, flags, AKV_DIA_CMD_CE, AKV_DIA_APP_COMMON, h->hbh, h->e2e);
	akv_dia_put_u32(&w, AKV_DIA_AVP_RESULT_CODE, 0, rc);
	akv_dia_put_origin(&w, c);
	akv_dia_put_addr(&w, AKV_DIA_AVP_HOST_IP_ADDRESS, c->host_family, c->host_ip,
			 c->host_family == 2 ? 16 : 4);
	akv_dia_put_u32(&w, AKV_DIA_AVP_VENDOR_ID, 0, AKV_DIA_VENDOR_3GPP);
	akv_dia_put_str(&w, AKV_DIA_AVP_PRODUCT_NAME, 0, PRODUCT_NAME);
	akv_dia_put_u32(&w, AKV_DIA_AVP_ORIGIN_STATE_ID, 0, c->origin_state_id);
	akv_dia_put_u32(&w, AKV_DIA_AVP_SUPPORTED_VENDOR_ID, 0, AKV_DIA_VENDOR_3GPP);
	akv_dia_put_vsai(&w, AKV_DIA_VENDOR_3GPP, AKV_DIA_APP_CX);
	if (err)
		put_failed(&w, err);
	return akv_dia_wr_finish(&w);
}

static int
build_simple_answer(struct akv_dia_conn *c, const struct akv_dia_hdr *h, uint8_t *out, size_t cap)
{
	struct akv_dia_wr w;

	akv_dia_wr_init(&w, out, cap);
	akv_dia_wr_hdr(&w, 0, h->cmd, h->app, h->hbh, h->e2e);
	akv_dia_put_u32(&w, AKV_DIA_AVP_RESULT_CODE, 0, AKV_DIA_SUCCESS);
	akv_dia_put_origin(&w, c);
	if (h->cmd == AKV_DIA_CMD_DW)
		akv_dia_put_u32(&w, AKV_DIA_AVP_ORIGIN_STATE_ID, 0, c->origin_state_id);
	return akv_dia_wr_finish(&w);
}

/* ==== CER ==== */

static int
name_eq(const char *cfg_name, const uint8_t *s, size_t n)
{
	return !*cfg_name || !strcmp(cfg_name, "*") ||
	       (strlen(cfg_name) == n && !strncasecmp(cfg_name, (const char *)s, n));
}

/* Host part of "a.b.c.d:port" / "[v6]:port". */
static size_t
addr_host(const char *addr, const char **start)
{
	const char *colon;

	if (addr[0] == '[') {
		const char *rb = strchr(addr, ']');

		*start = addr + 1;
		return rb ? (size_t)(rb - addr - 1) : strlen(addr + 1);
	}
	*start = addr;
	colon = strrchr(addr, ':');
	return colon ? (size_t)(colon - addr) : strlen(addr);
}

/* Allowed-peer check by Origin-Host and/or source address (issue 5); an
 * empty list allows every peer. Sets c->ind from the matching entry. */
static int
peer_allowed(struct akv_dia_conn *c, const struct akv_dia_avp *oh)
{
	const char *h;
	size_t hn;

	if (!c->cfg || c->cfg->dia.npeers == 0)
		return 1;
	hn = addr_host(c->peer_addr, &h);
	for (unsigned i = 0; i < c->cfg->dia.npeers && i < AKV_CFG_PEERS_MAX; i++) {
		const struct akv_cfg_peer *p = &c->cfg->dia.peers[i];

		if (!name_eq(p->host, oh->data, oh->len))
			continue;
		if (!name_eq(p->addr, (const uint8_t *)h, hn))
			continue;
		if (p->ind >= 0)
			c->ind = p->ind;
		return 1;
	}
	return 0;
}

/* §5.3: a common application is Cx (bare or vendor-specific) or Relay. */
static int
has_cx(const uint8_t *body, size_t blen)
{
	struct akv_dia_it it;
	struct akv_dia_avp a;
	uint32_t v;

	akv_dia_it_init(&it, body, blen);
	while (akv_dia_it_next(&it, &a) > 0) {
		if (a.vendor)
			continue;
		if (a.code == AKV_DIA_AVP_AUTH_APPLICATION_ID && !akv_dia_get_u32(&a, &v) &&
		    (v == AKV_DIA_APP_CX || v == AKV_DIA_APP_RELAY))
			return 1;
		if (a.code == AKV_DIA_AVP_VENDOR_SPECIFIC_APPLICATION_ID &&
		    akv_dia_find_u32(a.data, a.len, AKV_DIA_AVP_AUTH_APPLICATION_ID, 0, &v) == 1 &&
		    v == AKV_DIA_APP_CX)
			return 1;
	}
	return 0;
}

/* Inband-Security-Id absent, or one of them NO_INBAND_SECURITY (0). */
static int
plain_ok(const uint8_t *body, size_t blen)
{
	struct akv_dia_it it;
	struct akv_dia_avp a;
	uint32_t v;
	int seen = 0;

	akv_dia_it_init(&it, body, blen);
	while (akv_dia_it_next(&it, &a) > 0) {
		if (a.code != AKV_DIA_AVP_INBAND_SECURITY_ID || a.vendor)
			continue;
		seen = 1;
		if (!akv_dia_get_u32(&a, &v) && v == 0)
			return 1;
	}
	return !seen;
}

static int
on_cer(struct akv_dia_conn *c, const struct akv_dia_hdr *h, const uint8_t *msg, size_t len,
       uint8_t *out, size_t cap, size_t *out_len)
{
	/* §5.3.1 also makes Host-IP-Address mandatory, but Kamailio 5.6.3's
	 * cdp sometimes sends its CER without one (its getsockname() races
	 * and fails: "Error on finding local host address"); akavs does not
	 * use the peer's addresses, so that CER is accepted. */
	static const uint32_t required[] = {
		AKV_DIA_AVP_ORIGIN_HOST, AKV_DIA_AVP_ORIGIN_REALM, AKV_DIA_AVP_VENDOR_ID,
		AKV_DIA_AVP_PRODUCT_NAME,
	};
	const uint8_t *body = msg + AKV_DIA_HDR_LEN;
	size_t blen = len - AKV_DIA_HDR_LEN;
	struct akv_dia_error err = { 0 };
	struct akv_dia_avp oh;
	int n;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!akv_dia_count(body, blen, required[i], 0)) {
			akv_dia_err_missing(&err, required[i], 0);
			goto reject;
		}
	}
	akv_dia_find(body, blen, AKV_DIA_AVP_ORIGIN_HOST, 0, &oh);
	if (!peer_allowed(c, &oh)) {
		err.result_code = AKV_DIA_UNKNOWN_PEER;
		err.text = "peer not allowed";
		akv_dia_totals.peers_refused++;
		goto reject;
	}
	if (!plain_ok(body, blen)) {
		/* §6.10: akavs offers no in-band TLS (NO_INBAND_SECURITY only). */
		err.result_code = AKV_DIA_NO_COMMON_SECURITY;
		err.text = "only NO_INBAND_SECURITY (0) is offered";
		goto reject;
	}
	if (!has_cx(body, blen)) {
		err.result_code = AKV_DIA_NO_COMMON_APPLICATION;
		err.text = "only Cx (10415/16777216) is served";
		goto reject;
	}
	n = oh.len < sizeof(c->peer_host) ? (int)oh.len : (int)sizeof(c->peer_host) - 1;
	memcpy(c->peer_host, oh.data, (size_t)n);
	c->peer_host[n] = '\0';
	n = build_cea(c, h, NULL, out, cap);
	if (n < 0)
		return n;
	*out_len = (size_t)n;
	c->state = AKV_DIA_OPEN;
	return AKV_PROTO_REPLY;
reject:
	/* §5.3: a CER that fails is answered, then the transport closed. */
	n = build_cea(c, h, &err, out, cap);
	if (n < 0)
		return n;
	akv_dia_totals.tx_err++;
	*out_len = (size_t)n;
	c->state = AKV_DIA_CLOSING;
	return AKV_PROTO_CLOSE;
}

/* ==== akv_proto_ops ==== */

static int
dia_conn_init(void *st, const struct akv_proto_conn_info *info, uint8_t *out, size_t cap,
	      size_t *out_len)
{
	(void)out;
	(void)cap;
	*out_len = 0;
	return akv_dia_conn_setup(st, info);
}

static int
dia_frame_len(const uint8_t *buf, size_t len)
{
	return akv_dia_frame_len(buf, len, AKV_DIA_MSG_MAX);
}

static int
on_answer(struct akv_dia_conn *c, const struct akv_dia_hdr *h)
{
	/* §6.2.1/RFC 3539: a DWA to our DWR; other answers have no request of
	 * ours and are discarded. Any traffic proves the peer alive. */
	if (h->cmd == AKV_DIA_CMD_DW && h->hbh == c->dwr_hbh)
		c->dwr_pending = 0;
	return AKV_PROTO_REPLY;
}

static int
reply_error(struct akv_dia_conn *c, const struct akv_dia_hdr *h, const uint8_t *msg, size_t len,
	    uint32_t rc, const char *text, uint8_t *out, size_t cap, size_t *out_len)
{
	struct akv_dia_error err = { .result_code = rc, .text = text };
	int n = akv_dia_answer_error(c, h, msg, len, &err, out, cap);

	if (n < 0)
		return n;
	*out_len = (size_t)n;
	return AKV_PROTO_REPLY;
}

static int
dia_on_msg(void *st, const uint8_t *msg, size_t len, struct akv_proto_slot *slot, uint8_t *out,
	   size_t cap, size_t *out_len)
{
	struct akv_dia_conn *c = st;
	struct akv_dia_hdr h;
	struct akv_dia_error err;
	struct akv_dia_idx idx;
	uint64_t hdr;
	int n;

	*out_len = 0;
	akv_dia_totals.rx++;
	/* a MAR of the shape this peer keeps sending: what the general path
	 * below would do with it, from the peer's plan (dia_peer.h); other
	 * commands are told by their header without a call */
	if (c->state == AKV_DIA_OPEN && c->mar.tpl.nseg && len >= AKV_DIA_HDR_LEN &&
	    (memcpy(&hdr, msg + 4, 8), hdr == c->mar.tpl.hdr) &&
	    akv_dia_cx_mar_fast(c, msg, len, slot)) {
		c->dwr_pending = 0;
		akv_dia_totals.cx_req++;
		return AKV_PROTO_DISPATCH;
	}
	/* one pass validates and indexes: the Cx decoder asks the index;
	 * what this peer repeats from earlier requests is indexed from its memo */
	if (akv_dia_check_memo(msg, len, &h, &err, &idx, &c->memo) < 0) {
		akv_dia_totals.malformed++;
		return AKV_EPROTO;
	}
	c->dwr_pending = 0;
	if (err.result_code) {
		akv_dia_totals.malformed++;
		if (!(h.flags & AKV_DIA_F_REQ))
			return c->state == AKV_DIA_WAIT_CER ? AKV_PROTO_CLOSE : AKV_PROTO_REPLY;
		if (c->state == AKV_DIA_WAIT_CER && h.cmd == AKV_DIA_CMD_CE && !h.app)
			n = build_cea(c, &h, &err, out, cap);
		else
			n = akv_dia_answer_error(c, &h, msg, len, &err, out, cap);
		if (n < 0)
			return n;
		*out_len = (size_t)n;
		return c->state == AKV_DIA_WAIT_CER ? AKV_PROTO_CLOSE : AKV_PROTO_REPLY;
	}
	if (!(h.flags & AKV_DIA_F_REQ))
		return c->state == AKV_DIA_WAIT_CER ? AKV_PROTO_CLOSE : on_answer(c, &h);

	if (c->state == AKV_DIA_WAIT_CER) {
		if (h.cmd == AKV_DIA_CMD_CE && h.app == AKV_DIA_APP_COMMON)
			return on_cer(c, &h, msg, len, out, cap, out_len);
		/* §5.6: nothing but CER before the capabilities exchange. */
		akv_dia_totals.peers_refused++;
		n = reply_error(c, &h, msg, len, AKV_DIA_UNKNOWN_PEER, "send CER first", out, cap,
				out_len);
		return n < 0 ? n : AKV_PROTO_CLOSE;
	}
	if (c->state != AKV_DIA_OPEN)
		return AKV_PROTO_REPLY;
	if (h.app == AKV_DIA_APP_COMMON) {
		switch (h.cmd) {
		case AKV_DIA_CMD_CE:
			/* §5.6 R-Open + Rcv-CER: answer again, stay open. */
			return on_cer(c, &h, msg, len, out, cap, out_len);
		case AKV_DIA_CMD_DW:
			akv_dia_totals.dwr_rx++;
			n = build_simple_answer(c, &h, out, cap);
			break;
		case AKV_DIA_CMD_DP:
			/* §5.4: answer DPA, then the DPR sender closes; we close
			 * too once the DPA is out. */
			n = build_simple_answer(c, &h, out, cap);
			if (n < 0)
				return n;
			*out_len = (size_t)n;
			c->state = AKV_DIA_CLOSING;
			return AKV_PROTO_CLOSE;
		default:
			return reply_error(c, &h, msg, len, AKV_DIA_COMMAND_UNSUPPORTED,
					   "command not supported", out, cap, out_len);
		}
		if (n < 0)
			return n;
		*out_len = (size_t)n;
		return AKV_PROTO_REPLY;
	}
	if (h.app == AKV_DIA_APP_CX) {
		akv_dia_totals.cx_req++;
		return akv_dia_cx_request(c, &h, msg, len, &idx, slot, out, cap, out_len);
	}
	return reply_error(c, &h, msg, len, AKV_DIA_APPLICATION_UNSUPPORTED,
			   "application not supported", out, cap, out_len);
}

static int
dia_encode(void *st, const struct akv_proto_slot *slot, uint8_t *out, size_t cap)
{
	return akv_dia_cx_encode(st, slot, out, cap);
}

static int
dia_on_idle(void *st, uint64_t idle_rx_ms, uint64_t idle_tx_ms, uint8_t *out, size_t cap,
	    size_t *out_len)
{
	struct akv_dia_conn *c = st;
	struct akv_dia_node node = {
		.origin_host = c->origin_host,
		.origin_realm = c->origin_realm,
		.origin_state_id = c->origin_state_id,
	};
	int n;

	(void)idle_tx_ms;
	*out_len = 0;
	if (c->state == AKV_DIA_WAIT_CER) {
		/* A connection that never completes a CER (slow or silent
		 * peer) is closed after AKV_DIA_CER_TIMEOUT_S calls. */
		return ++c->wait_ticks >= AKV_DIA_CER_TIMEOUT_S ? AKV_PROTO_CLOSE : AKV_PROTO_REPLY;
	}
	if (c->state != AKV_DIA_OPEN)
		return AKV_PROTO_CLOSE;
	if (c->dwr_pending) {
		/* RFC 3539 §3.4.1: no answer to the DWR within Tw: dead. */
		return idle_rx_ms >= c->dwr_sent_idle + c->tw_ms ? AKV_PROTO_CLOSE
								   : AKV_PROTO_REPLY;
	}
	if (idle_rx_ms < c->tw_ms)
		return AKV_PROTO_REPLY;
	c->dwr_hbh = c->hbh_next++;
	n = akv_dia_build_dwr(out, cap, &node, c->dwr_hbh, c->e2e_next++);
	if (n < 0)
		return n;
	c->dwr_pending = 1;
	c->dwr_sent_idle = idle_rx_ms;
	akv_dia_totals.dwr_sent++;
	*out_len = (size_t)n;
	return AKV_PROTO_REPLY;
}

static void
dia_conn_fini(void *st)
{
	(void)st;
}

const struct akv_proto_ops akv_dia_ops = {
	.name = "diameter",
	.conn_state_size = sizeof(struct akv_dia_conn),
	/* dia_cx.c's Cx context: header words, then the Session-Id from byte
	 * 18, which reaches the second line for a Session-Id over 46 bytes
	 * (RFC 6733 §8.8 "<DiameterIdentity>;<high 32 bits>;<low 32 bits>";
	 * an IMS node's FQDN alone is often 40 bytes) */
	.ctx_lines = 2,
	.conn_init = dia_conn_init,
	.frame_len = dia_frame_len,
	.on_msg = dia_on_msg,
	.encode = dia_encode,
	.on_idle = dia_on_idle,
	.conn_fini = dia_conn_fini,
};
