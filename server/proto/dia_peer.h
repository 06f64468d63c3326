/*
 * dia_peer.h - per-connection Diameter state shared by dia_peer.c (peer
 * state machine, RFC 6733 §5) and dia_cx.c (Cx application, TS 29.229).
 * The front end only sees akv_dia_ops (proto.h) and sizes the state with
 * conn_state_size; fields are private to the two files and their tests.
 */
#ifndef AKV_SERVER_PROTO_DIA_PEER_H
#define AKV_SERVER_PROTO_DIA_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "proto/dia.h"
#include "proto/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AKV_DIA_TW_MS	       30000u	/* RFC 3539 §3.4.1 watchdog Tw default */
#define AKV_DIA_CER_TIMEOUT_S  10u	/* a peer that sends no valid CER is closed */
#define AKV_DIA_NAME_MAX       256
#define AKV_DIA_SID_MAX	       512	/* longest Session-Id echoed */
#define AKV_DIA_PROXY_MAX      256	/* Proxy-Info bytes echoed per answer */
#define AKV_DIA_TMPL_MAX       4096	/* largest User-Data template file */

enum akv_dia_peer_state {
	AKV_DIA_WAIT_CER = 0,	/* connected, nothing but a CER accepted (§5.6 R-Open pending) */
	AKV_DIA_OPEN = 1,	/* CEA 2001 sent: application messages allowed */
	AKV_DIA_CLOSING = 2,	/* DPA or a fatal answer sent: close after it */
};

struct akv_dia_stats {
	uint64_t rx, tx_err, malformed, dwr_sent, dwr_rx, cx_req;
	uint64_t peers_refused;	/* not allowed (3010) or no CER first */
};

/* Counters of all Diameter connections since start, for STATS.
 * Written and read on the front-end thread only (the STATS source runs
 * there, avs1.h), hence plain fields. */
extern struct akv_dia_stats akv_dia_totals;

/* The MARs a peer repeats (dia_cx.c): their shape, learned from a MAR the
 * Cx decoder dispatched, with holes at Session-Id, User-Name and
 * Public-Identity, and what that decoder made of everything else. A MAR of
 * that shape is decoded from it without the check's walk and index. */
struct akv_dia_mar_plan {
	struct akv_dia_tpl tpl;		/* nseg 0: nothing learned */
	uint8_t sid, impi, impu;	/* which hole holds each */
	uint8_t scheme;			/* enum akv_scheme asked for */
	uint16_t n;			/* vectors asked for, capped */
	uint8_t misses;			/* MARs of another shape since a match */
	uint8_t wait;			/* MARs to let by before learning again */
	uint8_t server_name;		/* the MARs' Server-Name, interned (cx_pending.h) */
	uint64_t hits;			/* MARs decoded from the plan (tests) */
};

/* The bytes every successful MAA of a conn shares (dia_cx.c), for answers
 * of up to AKV_DIA_MAA_TPL_VEC vectors with one XRES length: `head` from
 * VSAI to Origin-Realm, `items` from SIP-Number-Auth-Items to the last item,
 * whose RAND, AUTN, XRES, CK and IK are filled in per answer (the template
 * itself holds zeros there, never a vector). */
#define AKV_DIA_MAA_TPL_VEC 4
#define AKV_DIA_MAA_ITEM_MAX 176	/* a SIP-Auth-Data-Item, XRES of 16 bytes */

struct akv_dia_maa_tpl {
	uint8_t nvec;			/* 0: not built */
	uint8_t xres_len;
	uint16_t head_len, items_len;
	const char *sname;		/* scheme name in the items (scheme_name()) */
	uint64_t uses;			/* MAAs written from it (tests) */
	uint8_t head[56 + 2 * (AKV_DIA_AVP_HDR_LEN + AKV_DIA_NAME_MAX)];
	uint8_t items[16 + AKV_DIA_MAA_TPL_VEC * AKV_DIA_MAA_ITEM_MAX];
};

struct akv_cx_pending;

struct akv_dia_conn {
	const struct akv_cfg *cfg;
	struct akv_cx_pending *pending;	/* cfg's "authentication pending" memo, or NULL */
	uint8_t state;			/* enum akv_dia_peer_state */
	uint8_t dwr_pending;		/* our DWR awaits its DWA */
	uint16_t wait_ticks;		/* on_idle calls while in WAIT_CER */
	int ind;			/* IND for this peer, -1 cyclic */
	uint32_t tw_ms;			/* watchdog interval */
	uint64_t dwr_sent_idle;		/* idle_rx_ms when the DWR left */
	uint32_t hbh_next, e2e_next;	/* ids for requests we originate */
	uint32_t dwr_hbh;
	uint32_t origin_state_id;
	uint16_t host_family;		/* Host-IP-Address we advertise */
	uint8_t host_ip[16];
	unsigned max_vectors;
	char origin_host[AKV_DIA_NAME_MAX];
	char origin_realm[AKV_DIA_NAME_MAX];
	uint16_t origin_host_len;
	uint16_t origin_avps_len;
	/* Origin-Host and Origin-Realm AVPs as every answer carries them,
	 * encoded once at setup (akv_dia_put_origin copies them) */
	uint8_t origin_avps[2 * (AKV_DIA_AVP_HDR_LEN + AKV_DIA_NAME_MAX)];
	char peer_host[AKV_DIA_NAME_MAX];	/* Origin-Host from the CER */
	char peer_addr[64];
	/* runs of AVPs this peer repeats, indexed without a walk (dia.h) */
	struct akv_dia_memo memo;
	struct akv_dia_mar_plan mar;
	struct akv_dia_maa_tpl maa;
	uint16_t tmpl_len;		/* 0: built-in User-Data template */
	char tmpl[AKV_DIA_TMPL_MAX];	/* [diameter] user-data-template contents */
};

/* Identity fields used in every answer. */
void akv_dia_put_origin(struct akv_dia_wr *w, const struct akv_dia_conn *c);

/* Answers a request with `err` (Result-Code, Error-Message, Failed-AVP):
 * E bit for 3xxx (RFC 6733 §7.2), Session-Id echoed, VSAI and
 * Auth-Session-State added for Cx. Returns the length or an error. */
int akv_dia_answer_error(struct akv_dia_conn *c, const struct akv_dia_hdr *h, const uint8_t *msg,
			 size_t len, const struct akv_dia_error *err, uint8_t *out, size_t cap);

/* ==== dia_cx.c ==== */

/* Handles a Cx request (app 16777216) on an open connection, checked
 * cleanly by akv_dia_check_idx() into idx: fills the slot and returns
 * AKV_PROTO_DISPATCH, or writes an error answer and returns AKV_PROTO_REPLY. */
int akv_dia_cx_request(struct akv_dia_conn *c, const struct akv_dia_hdr *h, const uint8_t *msg,
		       size_t len, const struct akv_dia_idx *idx, struct akv_proto_slot *slot,
		       uint8_t *out, size_t cap, size_t *out_len);
/* A MAR of the shape in c->mar (the conn is open): fills the slot as
 * akv_dia_cx_request() would and returns 1; 0 when msg is not of that shape
 * (then the general path decides). */
int akv_dia_cx_mar_fast(struct akv_dia_conn *c, const uint8_t *msg, size_t len,
			struct akv_proto_slot *slot);
/* Encodes the answer to a dispatched Cx request. Returns length or error. */
int akv_dia_cx_encode(struct akv_dia_conn *c, const struct akv_proto_slot *slot, uint8_t *out,
		      size_t cap);

/* Prepares a conn from a configuration without a front end (tests, fuzz):
 * what conn_init does. */
int akv_dia_conn_setup(struct akv_dia_conn *c, const struct akv_proto_conn_info *info);
/* Checks at startup that the [diameter] user-data-template file can be read
 * and fits (AKV_DIA_TMPL_MAX), so a bad path fails `akavs serve` at once
 * instead of every later CER. Returns 0, -errno or AKV_ETOOBIG. */
int akv_dia_template_check(const char *path);

#ifdef __cplusplus
}
#endif
#endif
