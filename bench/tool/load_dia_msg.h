/*
 * load_dia_msg.h - the Diameter messages of `load --diameter`, at the cost a
 * load generator can afford per request:
 *  - MARs are written from a per-thread template (struct load_mar_tpl) that
 *    is cut out of what akv_dia_build_mar() produces, so the bytes stay those
 *    of the codec's builder: only the Session-Id counter digits, the
 *    identities, SIP-Number-Auth-Items, the optional RAND||AUTS and the
 *    header ids change per request; no formatting, no strlen;
 *  - MAAs are read in one pass over their AVPs (load_maa_read) that applies
 *    the checks of akv_dia_check() and akv_dia_parse_maa() and keeps views
 *    into the message. Whatever it cannot vouch for (an error answer, a
 *    non-ASCII string, an AVP it does not expect, any fault) it hands back
 *    to akv_dia_parse_maa(), which then decides: strictness is the codec's.
 */
#ifndef AKV_BENCH_TOOL_LOAD_DIA_MSG_H
#define AKV_BENCH_TOOL_LOAD_DIA_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "aka/eng.h"

#define LOAD_MAR_HOST_MAX 64
#define LOAD_MAR_SID_MAX (LOAD_MAR_HOST_MAX + 24) /* host;hi;lo */
#define LOAD_MAR_SEGS 16
#define LOAD_MAR_TPL_BYTES 1024

/* One piece of a MAR: constant bytes, or an AVP written per request. */
struct load_mar_seg {
	uint8_t kind;	/* enum in load_dia_msg.c */
	uint16_t off;	/* into load_mar_tpl.bytes */
	uint16_t len;	/* bytes (for a variable AVP: its header) */
};

struct load_mar_tpl {
	uint8_t bytes[LOAD_MAR_TPL_BYTES];
	struct load_mar_seg seg[LOAD_MAR_SEGS];
	unsigned nseg;
	/* SIP-Auth-Data-Item without [0] / with [1] SIP-Authorization; where
	 * RAND||AUTS goes in the latter */
	uint16_t item_off[2], item_len[2], auts_at;
	uint16_t fixed_len; /* bytes of everything but the strings of variable AVPs */
	/* Session-Id "<host>;<high 32>;<low 32>" (RFC 6733 §8.8), kept in
	 * decimal and counted up in place */
	char sid[LOAD_MAR_SID_MAX];
	uint16_t sid_len, sid_lo; /* sid_lo: where the low 32 bits' digits start */
	uint16_t host_len;
	uint64_t session;
	int in_order; /* the segments are the codec's usual ones, in its order */
	/* in_order: the MAR as two images with holes. pre: Session-Id (its
	 * digits patched per MAR, pre_sid_len of them), the constant AVPs
	 * after it, Public-Identity's header; post[v]: SIP-Number-Auth-Items
	 * (n patched), the item without [0] / with [1] RAND||AUTS, Server-Name.
	 * A MAR is then two copies, the identities and a few stores. */
	uint16_t pre_len, pre_sid_len, pre_sid_at, post_len[2];
	uint8_t pre[LOAD_MAR_TPL_BYTES + LOAD_MAR_SID_MAX];
	uint8_t post[2][LOAD_MAR_TPL_BYTES];
};

/* Builds the template for Origin-Host `host` (Origin-Realm, Destination-Realm,
 * scheme and Server-Name as given), from two MARs of akv_dia_build_mar().
 * Returns 0, or -1 when that builder's output does not have the expected
 * shape (the caller then builds every MAR with akv_dia_build_mar). */
int load_mar_init(struct load_mar_tpl *t, const char *host, const char *origin_realm,
		  const char *dest_realm, const char *scheme, const char *server_name);
/* Writes the next MAR: Session-Id counter + 1, then the same bytes as
 * akv_dia_build_mar() with that Session-Id, User-Name impi, Public-Identity
 * impu, SIP-Number-Auth-Items n, SIP-Authorization rand_auts (30 bytes, or
 * NULL), Hop-by-Hop hbh, End-to-End hbh ^ low 32 bits of the counter.
 * Returns the length or AKV_ETOOBIG when cap is too small. */
int load_mar_build(struct load_mar_tpl *t, const char *impi, size_t impi_len, const char *impu,
		   size_t impu_len, uint32_t n, const uint8_t *rand_auts, uint32_t hbh, uint8_t *out,
		   size_t cap);
/* The current Session-Id (NUL-terminated copy, for tests). */
void load_mar_sid(const struct load_mar_tpl *t, char *out, size_t cap);
/* Counts the Session-Id on by one without writing a MAR (for another
 * request of the same peer, e.g. a SAR: t->sid, t->sid_len, t->session then
 * name a session no MAR of this template has used). */
void load_mar_next_session(struct load_mar_tpl *t);

/* ==== SAR / SAA (TS 29.229 §6.1.3 / §6.1.4) ==== */

/* Server-Assignment-Type (TS 29.229 §6.3.15) values a registration (and the
 * UE's de-registration) sends. */
#define LOAD_SAT_REGISTRATION 1
#define LOAD_SAT_RE_REGISTRATION 2
#define LOAD_SAT_USER_DEREGISTRATION 5

/* The AVPs every SAR of one peer repeats, stored once: VSAI, Auth-Session-
 * State, Origin-Host, Origin-Realm, Destination-Realm after the Session-Id,
 * and Server-Name after the identities. */
#define LOAD_SAR_FIXED_MAX 512
struct load_sar_tpl {
	uint8_t head[LOAD_SAR_FIXED_MAX], tail[LOAD_SAR_FIXED_MAX];
	uint16_t head_len, tail_len;
};

/* Stores the fixed AVPs. Returns 0, or AKV_ETOOBIG when a name does not fit. */
int load_sar_init(struct load_sar_tpl *t, const char *host, const char *origin_realm,
		  const char *dest_realm, const char *server_name);
/* Writes a SAR as Kamailio's S-CSCF sends it for a registration (REFERENCE
 * §4.6, §7.1): header R|P, 301, Cx, hbh, e2e; Session-Id sid, the head,
 * User-Name impi, Public-Identity impu, Server-Name, Server-Assignment-Type
 * sat, User-Data-Already-Available 0 for REGISTRATION and 1 otherwise (the
 * S-CSCF has the profile by then). Returns the length, AKV_EINVAL for an
 * empty identity or Session-Id, AKV_ETOOBIG when cap is too small. */
int load_sar_build(const struct load_sar_tpl *t, const char *sid, size_t sid_len,
		   const char *impi, size_t impi_len, const char *impu, size_t impu_len,
		   uint32_t sat, uint32_t hbh, uint32_t e2e, uint8_t *out, size_t cap);

/* What a SAA says about the registration of one IMPI. */
enum load_saa_verdict {
	LOAD_SAA_OK = 0,	 /* Result-Code 2001 and the user's profile (User-Data) */
	LOAD_SAA_REFUSED,	 /* another Result-Code, or an Experimental-Result */
	LOAD_SAA_NO_PROFILE,	 /* 2001 without User-Data, or with an empty one */
	LOAD_SAA_OTHER_USER,	 /* 2001 whose User-Name is not the IMPI asked for */
};
/* Judges a whole SAA: what akv_dia_parse_result() accepts (akv_dia_check:
 * version, length, flags, every AVP against the dictionary; an answer with
 * a Result-Code or Experimental-Result), Command-Code 301, Application-Id Cx.
 * Returns a verdict (>= 0), or AKV_EPROTO when the message is malformed or
 * is not a SAA. */
int load_saa_judge(const uint8_t *msg, size_t len, const char *impi, size_t impi_len);

/* One SIP-Auth-Data-Item of a MAA: views into the message. */
struct load_maa_item {
	const uint8_t *rand, *autn; /* SIP-Authenticate = RAND || AUTN, 16 + 16 bytes */
	const uint8_t *xres;	  /* SIP-Authorization, xres_len bytes (4..16) */
	const uint8_t *ck, *ik;	  /* 16 bytes each */
	uint8_t xres_len;
};

struct load_maa {
	uint32_t result_code;
	unsigned n;
	struct load_maa_item item[AKV_VEC_MAX];
};

#define LOAD_MAA_ASK_CODEC 1

/* The run of top-level AVPs a server repeats in every MAA (VSAI,
 * Result-Code, Auth-Session-State, Origin-Host, Origin-Realm), learned from
 * an accepted MAA: where a later MAA has the same bytes at an AVP boundary,
 * the reader takes them as read. Zeroed before first use; per thread. */
#define LOAD_MAA_MEMO_BYTES 192
#define LOAD_MAA_MEMO_AVPS 8
#define LOAD_MAA_TAIL_BYTES 1024 /* SIP-Number-Auth-Items + 5 items of 176 bytes fit */
#define LOAD_MAA_TAIL_ITEMS 8
struct load_maa_memo {
	uint64_t head;	      /* the run's first 8 bytes; 0: nothing learned */
	uint16_t len;	      /* its bytes */
	uint8_t has_rc;	      /* it holds a Result-Code, the first of which is rc */
	uint8_t misses;	      /* MAAs read since the run last matched */
	uint8_t at;	      /* top-level AVPs before the run when it was learned */
	uint32_t hits;	      /* MAAs whose run matched (for tests) */
	uint32_t rc;
	uint8_t bytes[LOAD_MAA_MEMO_BYTES] __attribute__((aligned(16)));
	/* The rest of an MAA after Public-Identity (SIP-Number-Auth-Items and
	 * the items), learned from one maa_read_exact() read: a later MAA
	 * whose rest has the same length and the same bytes outside the
	 * vectors (tail_mask 0 over RAND||AUTN, XRES, CK, IK) is read from the
	 * learned offsets; anything else goes through the item readers. */
	uint16_t tail_len;    /* bytes; 0: nothing learned */
	uint8_t tail_n;	      /* its items */
	uint8_t tail_misses;  /* exact reads since the rest last matched */
	uint32_t tail_hits;   /* MAAs whose rest matched (for tests) */
	struct {
		uint16_t rand, xres, ck, ik; /* offsets into the rest */
		uint8_t xres_len;
	} tail_item[LOAD_MAA_TAIL_ITEMS];
	/* aligned: compared 16 bytes at a time as memory operands */
	uint8_t tail[LOAD_MAA_TAIL_BYTES] __attribute__((aligned(16)));
	uint8_t tail_mask[LOAD_MAA_TAIL_BYTES] __attribute__((aligned(16)));
};

/* Reads a whole MAA. Returns 0 when it is an answer (no E-bit check: as the
 * codec) with Command-Code 303 that akv_dia_parse_maa() would accept with the
 * same Result-Code and items (the first AKV_VEC_MAX), filled in *m; or
 * LOAD_MAA_ASK_CODEC for anything else, which akv_dia_parse_maa() must judge.
 * memo (NULL: none) changes the cost, never the result. */
int load_maa_read(const uint8_t *msg, size_t len, struct load_maa *m,
		  struct load_maa_memo *memo);

#endif
