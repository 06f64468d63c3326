/*
 * bytes.h - big-endian (network order) field access shared by the wire
 * codecs: AVS/1 (docs/PROTOCOL.md §1) and Diameter (RFC 6733 §3, §4: 24-bit
 * lengths and command codes, 32-bit ids and values).
 */
#ifndef AKV_SERVER_PROTO_BYTES_H
#define AKV_SERVER_PROTO_BYTES_H

#include <stdint.h>

static inline uint16_t
akv_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
akv_get_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t
akv_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
akv_get_be64(const uint8_t *p)
{
	return (uint64_t)akv_get_be32(p) << 32 | akv_get_be32(p + 4);
}

static inline void
akv_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
akv_put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static inline void
akv_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
akv_put_be64(uint8_t *p, uint64_t v)
{
	akv_put_be32(p, (uint32_t)(v >> 32));
	akv_put_be32(p + 4, (uint32_t)v);
}

#endif
