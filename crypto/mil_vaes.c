/* mil_vaes.c - multi-buffer VAES-256 Milenage. (Kernel lands in the next commit.) */
#include "akv_crypto.h"

/* see akv_crypto.h */
const struct akv_mil_impl *
akv_mil_vaes_get(void)
{
	return NULL;
}
