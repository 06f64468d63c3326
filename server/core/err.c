#include "err.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

/* see err.h */
const char *
akv_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case AKV_CRYPTO_EUNAVAIL: return "crypto backend unavailable on this CPU";
	case AKV_CRYPTO_ERAND: return "random number generator failure";
	case AKV_CRYPTO_EINVAL: return "malformed input";
	case AKV_CRYPTO_ENOSPC: return "output buffer too small";
	case AKV_EPARTIAL: return "incomplete message";
	case AKV_EPROTO: return "malformed message";
	case AKV_ETOOBIG: return "message or field too large";
	case AKV_EUNKNOWN_OP: return "unknown operation";
	case AKV_EUNKNOWN_USER: return "unknown user";
	case AKV_EIMPU_MISMATCH: return "public identity does not belong to the private identity";
	case AKV_ESCHEME: return "authentication scheme not supported";
	case AKV_ENO_CHALLENGE: return "no pending challenge (unknown, expired or already used)";
	case AKV_EAUTS_MAC: return "resynchronisation refused: AUTS MAC-S invalid";
	case AKV_ESQN_EXHAUSTED: return "sequence number space exhausted";
	case AKV_ESQN_RANGE: return "sequence number outside the accepted window";
	case AKV_EBAD_N: return "vector count out of range";
	case AKV_EEXISTS: return "subscriber already exists";
	case AKV_ENOTFOUND: return "not found";
	case AKV_EMAP_FULL: return "store full (LMDB map size reached); nothing was written";
	case AKV_ESCHEMA: return "store schema version not supported";
	case AKV_ESTORE: return "store error";
	case AKV_EKEY: return "store master key missing, wrong or not applicable";
	case AKV_EINVAL: return "invalid argument";
	case AKV_EBUSY: return "server busy";
	case AKV_ELIMIT: return "limit reached";
	default:
		if (err < 0 && err > -4096)
			return strerror(-err);
		return "unknown error";
	}
}

/* see err.h */
void
akv_ossl_reason(char *buf, size_t cap, const char *fallback)
{
	unsigned long e = ERR_get_error();
	const char *lib, *reason;

	ERR_clear_error();
	if (!buf || !cap)
		return;
	if (!e) {
		snprintf(buf, cap, "%s", fallback);
		return;
	}
	lib = ERR_lib_error_string(e);
	reason = ERR_GET_LIB(e) == ERR_LIB_SYS ? strerror(ERR_GET_REASON(e))
					       : ERR_reason_error_string(e);
	snprintf(buf, cap, "%s%s%s", lib ? lib : "", lib ? ": " : "",
		 reason ? reason : "unknown OpenSSL error");
}
