/* mil_ni.c - multi-buffer AES-NI Milenage. (Kernel lands in the next commit.) */
#include "akv_crypto.h"

/* see akv_crypto.h */
const struct akv_mil_impl *
akv_mil_ni_get(void)
{
	return NULL;
}

/* see akv_crypto.h */
void
akv_aes_expand(const uint8_t k[16], struct akv_aes_sched *ks)
{
	(void)k;
	akv_wipe(ks, sizeof(*ks));
}
