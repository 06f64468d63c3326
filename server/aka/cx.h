/*
 * cx.h - Cx registration state (TS 29.228 §6.1, §6.2): which S-CSCF serves a
 * private identity, for SAR/SAA, UAR/UAA and LIR/LIA.
 *
 * The state lives in its own LMDB sub-database of the subscriber store
 * ("cx_reg", keyed by IMPI), so it survives restarts and every worker can read
 * it (LIR comes with an IMPU only and may run on any shard). The engine calls
 * akv_cx_run_batch() for AKV_OP_SAR / AKV_OP_UAR / AKV_OP_LIR; the request's
 * impi/impu are in struct akv_eng_req, the Cx details in struct akv_cx_req.
 * Answers are Diameter result codes chosen here, so the Diameter encoder only
 * copies them (dia_cx.c). Pure logic plus store calls: no sockets.
 */
#ifndef AKV_SERVER_AKA_CX_H
#define AKV_SERVER_AKA_CX_H

#include <stddef.h>
#include <stdint.h>

#include "aka/eng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Constants ==== */

#define AKV_CX_NAME_MAX	  255	/* longest Server-Name (S-CSCF SIP URI) kept */
#define AKV_CX_IMPUS_BUF  2048	/* room for the subscriber's IMPUs in a SAA */
#define AKV_CX_IMPUS_MAX  32	/* IMPUs listed in one User-Data */

/* Server-Assignment-Type (AVP 614, TS 29.229 §6.3.15). */
enum akv_cx_sat {
	AKV_CX_SAT_NO_ASSIGNMENT = 0,
	AKV_CX_SAT_REGISTRATION = 1,
	AKV_CX_SAT_RE_REGISTRATION = 2,
	AKV_CX_SAT_UNREGISTERED_USER = 3,
	AKV_CX_SAT_TIMEOUT_DEREGISTRATION = 4,
	AKV_CX_SAT_USER_DEREGISTRATION = 5,
	AKV_CX_SAT_TIMEOUT_DEREG_STORE_NAME = 6,
	AKV_CX_SAT_USER_DEREG_STORE_NAME = 7,
	AKV_CX_SAT_ADMINISTRATIVE_DEREGISTRATION = 8,
	AKV_CX_SAT_AUTHENTICATION_FAILURE = 9,
	AKV_CX_SAT_AUTHENTICATION_TIMEOUT = 10,
	AKV_CX_SAT_DEREGISTRATION_TOO_MUCH_DATA = 11,
};

/* User-Authorization-Type (AVP 623, TS 29.229 §6.3.24). */
enum akv_cx_uat {
	AKV_CX_UAT_REGISTRATION = 0,
	AKV_CX_UAT_DE_REGISTRATION = 1,
	AKV_CX_UAT_REGISTRATION_AND_CAPABILITIES = 2,
};

/* Registration state of an IMPI as the HSS sees it (TS 29.228 §6.1.2). */
enum akv_cx_state {
	AKV_CX_NOT_REGISTERED = 0,	/* no S-CSCF name stored */
	AKV_CX_REGISTERED = 1,		/* name stored, user registered */
	AKV_CX_UNREGISTERED = 2,	/* name stored for unregistered services */
};

/* Diameter answer codes akv_cx_run_batch picks (RFC 6733 §7.1, TS 29.229 §6.2). */
#define AKV_CX_RC_SUCCESS		    2001	/* base Result-Code */
#define AKV_CX_RC_INVALID_AVP_VALUE	    5004	/* base: bad enum value */
#define AKV_CX_RC_UNABLE_TO_COMPLY	    5012	/* base */
#define AKV_CX_EXP_FIRST_REGISTRATION	    2001	/* Experimental-Result-Code, 10415 */
#define AKV_CX_EXP_SUBSEQUENT_REGISTRATION  2002
#define AKV_CX_EXP_UNREGISTERED_SERVICE	    2003
#define AKV_CX_EXP_USER_UNKNOWN		    5001
#define AKV_CX_EXP_IDENTITIES_DONT_MATCH    5002
#define AKV_CX_EXP_IDENTITY_NOT_REGISTERED  5003
#define AKV_CX_EXP_IDENTITY_ALREADY_REGISTERED 5005
#define AKV_CX_EXP_AUTH_SCHEME_NOT_SUPPORTED 5006
#define AKV_CX_EXP_ERROR_IN_ASSIGNMENT_TYPE 5007
#define AKV_CX_EXP_TOO_MUCH_DATA	    5008

/* ==== Types ==== */

/* Cx part of one request/response; the caller owns it (the front end's
 * request slot) and points akv_eng_req.cx at it. Plain data, crosses threads. */
struct akv_cx_req {
	/* request */
	uint8_t sat;			/* SAR: enum akv_cx_sat */
	uint8_t uat;			/* UAR: enum akv_cx_uat */
	uint8_t user_data_available;	/* SAR: User-Data-Already-Available (624) */
	uint16_t server_name_len;	/* SAR: S-CSCF name to record; UAR/LIR: unused */
	char server_name[AKV_CX_NAME_MAX + 1];

	/* response (valid when akv_eng_req.err == 0) */
	uint32_t result_code;		/* base Result-Code, or 0 when exp_code is used */
	uint32_t exp_code;		/* Experimental-Result-Code (vendor 10415), or 0 */
	uint8_t state;			/* enum akv_cx_state after the request */
	uint8_t want_user_data;		/* SAA: include User-Data (IMPI + impus) */
	uint16_t assigned_len;		/* UAA/LIA/SAA: stored S-CSCF name, 0 none (an
					 * SAA names it only with 5005) */
	char assigned[AKV_CX_NAME_MAX + 1];
	uint16_t nimpus;		/* SAA: IMPUs of the subscriber for User-Data */
	uint16_t impus_len;		/* bytes used in impus: NUL-separated */
	char impus[AKV_CX_IMPUS_BUF];
	/* LIR: the IMPI found through the IMPU index (also copied to req->impi) */
};

struct akv_eng;

/* ==== Operations ==== */

/* Most requests one akv_cx_run_batch() call takes: their registration
 * changes share one commit. As large as a worker's batch (cfg.c, default
 * 256), so the registrar commits in one go whatever queued while its last
 * commit waited at the disk (group commit). */
#define AKV_CX_BATCH_MAX 256

/* Runs n (<= AKV_CX_BATCH_MAX) SAR/UAR/LIR requests (req->op), in order,
 * against the registration state kept in the engine's store, and fills
 * each req->cx's response part and req->err. A request sees the state an
 * earlier one of the batch left; the changed records are written in one
 * commit, so a storm of first registrations costs one fsync per batch
 * instead of one per SAR, and the answers must not leave before this
 * returns (the commit is done by then). req->err is non-zero only for
 * failures that are not a Cx answer (store errors: the Diameter layer
 * answers 5012 UNABLE_TO_COMPLY), including a failed commit for the
 * requests that changed a record or read one changed in it; unknown users,
 * identity mismatches etc. come back as err 0 with exp_code set.
 * Returns 0, or the store's error when the batch's commit (or opening the
 * registration database, a write on first use) failed.
 * Thread-safety: call from the worker that owns the engine; readers on other
 * workers are safe (LMDB MVCC). */
int akv_cx_run_batch(struct akv_eng *e, struct akv_eng_req *const *reqs, size_t n,
		     uint64_t now_ms);

/* The engine's cache of registration states (one per engine, used only by
 * the worker that owns it): the state and S-CSCF name of each IMPI whose
 * subscriber entry holds one that is still valid, kept in the entry (struct
 * akv_subent: cx_reg, cx_stamp), with the S-CSCF names interned in a small
 * table here. A SAR/UAR with an IMPI whose entry has a valid state (a
 * re-registration right after its MAR) is answered without any LMDB read.
 * `off` = 1: never used (every request reads the store, as before). Never
 * fails (OOM aborts). akv_eng_new/_free call these. */
struct akv_cx_cache *akv_cx_cache_new(int off);
void akv_cx_cache_free(struct akv_cx_cache *c);

/* Pure state transition of TS 29.228 §6.1.2.1 for one SAR: given the current
 * state and stored name, the Server-Assignment-Type and the requesting
 * S-CSCF's name, writes the new state/name into `cx` (state, assigned) and the
 * answer codes. Returns 1 when the stored record must be rewritten (state or
 * name change), 0 when it stays as it is (e.g. a re-registration by the same
 * S-CSCF), -1 for an unusable type (answer codes set). Exposed for tests. */
int akv_cx_sar_apply(enum akv_cx_state cur, const char *cur_name, size_t cur_name_len,
		     struct akv_cx_req *cx);

/* Pure UAR decision (TS 29.228 §6.1.1.1) from the current state; fills the
 * answer codes and `assigned`. Exposed for tests. */
void akv_cx_uar_apply(enum akv_cx_state cur, const char *cur_name, size_t cur_name_len,
		      struct akv_cx_req *cx);

/* Pure LIR decision (TS 29.228 §6.1.4.1); unreg_services as
 * akv_eng_cfg.cx_unreg_services. Exposed for tests. */
void akv_cx_lir_apply(enum akv_cx_state cur, const char *cur_name, size_t cur_name_len,
		      int unreg_services, struct akv_cx_req *cx);

/* Writes the Cx User-Data XML (TS 29.228 Annex D/E, <IMSSubscription>) for
 * `impi` and the NUL-separated `impus` (count n) into out. `tmpl` is a
 * template where "%PRIVATE%" is replaced by the IMPI (XML-escaped) and the
 * text between "%IMPU{" and "}%" is repeated per IMPU with "%IMPU%" replaced;
 * NULL uses the built-in minimal profile. Returns the length written
 * (excluding the NUL) or AKV_ETOOBIG / AKV_EINVAL. Pure; thread-safe. */
int akv_cx_user_data(const char *tmpl, const char *impi, size_t impi_len, const char *impus,
		     unsigned n, char *out, size_t cap);

/* The built-in template (minimal profile: one ServiceProfile listing every
 * IMPU, no initial filter criteria). Static. */
const char *akv_cx_default_template(void);

#ifdef __cplusplus
}
#endif
#endif
