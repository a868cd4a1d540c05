/* CRC-32C: SSE4.2 when the CPU has it, slicing-by-8 otherwise (crc32c.h). */
#include "common/crc32c.h"

#include <pthread.h>
#include <string.h>

#define TK_CRC32C_POLY 0x82F63B78u

static uint32_t tk__crc_table[8][256];
static pthread_once_t tk__crc_once = PTHREAD_ONCE_INIT;
static uint32_t (*tk__crc_fn)(uint32_t, const uint8_t *, size_t);

static void tk__crc_table_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? (c >> 1) ^ TK_CRC32C_POLY : c >> 1;
		tk__crc_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			tk__crc_table[j][i] = (tk__crc_table[j - 1][i] >> 8) ^
					      tk__crc_table[0][tk__crc_table[j - 1][i] & 0xff];
}

static uint32_t tk__crc_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		crc = (crc >> 8) ^ tk__crc_table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		v ^= crc; /* little-endian: the CRC meets the first four bytes */
		crc = tk__crc_table[7][v & 0xff] ^ tk__crc_table[6][(v >> 8) & 0xff] ^
		      tk__crc_table[5][(v >> 16) & 0xff] ^ tk__crc_table[4][(v >> 24) & 0xff] ^
		      tk__crc_table[3][(v >> 32) & 0xff] ^ tk__crc_table[2][(v >> 40) & 0xff] ^
		      tk__crc_table[1][(v >> 48) & 0xff] ^ tk__crc_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = (crc >> 8) ^ tk__crc_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t tk__crc_hw(uint32_t crc, const uint8_t *p,
							      size_t len)
{
	uint64_t c = crc;

	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

#if defined(__x86_64__)
/*
 * Three streams at once: the crc32 instruction has a latency of 3 cycles
 * and a throughput of 1, so one dependent chain uses a third of it.  A
 * large buffer is cut in chunks of three parts, each part's CRC computed
 * independently, then joined: for the raw register, crc(a || b) =
 * shift(crc(a), |b|) ^ crc(b) from 0, where shift(x, n) (x followed by n
 * zero bytes) is linear in x, so a table of its value on the 32 unit
 * vectors makes it 32 conditional XORs.  (bench/persist: the journal's
 * blocks are 256 KiB; one chain cost a sixth of its CPU.)
 */
#define TK_CRC_CHUNK 8192u
static uint32_t tk__crc_shift1[32], tk__crc_shift2[32]; /* by CHUNK and 2 CHUNK zeros */

static uint32_t tk__crc_shift(const uint32_t *m, uint32_t v)
{
	uint32_t r = 0, i;

	for (i = 0; i < 32; i++)
		if ((v >> i) & 1)
			r ^= m[i];
	return r;
}

__attribute__((target("sse4.2"))) static uint32_t tk__crc_hw3(uint32_t crc, const uint8_t *p,
							       size_t len)
{
	while (len >= 3 * TK_CRC_CHUNK) {
		uint64_t a = crc, b = 0, c = 0;
		uint32_t i;

		for (i = 0; i < TK_CRC_CHUNK; i += 8) {
			uint64_t va, vb, vc;

			memcpy(&va, p + i, 8);
			memcpy(&vb, p + TK_CRC_CHUNK + i, 8);
			memcpy(&vc, p + 2 * TK_CRC_CHUNK + i, 8);
			a = __builtin_ia32_crc32di(a, va);
			b = __builtin_ia32_crc32di(b, vb);
			c = __builtin_ia32_crc32di(c, vc);
		}
		crc = tk__crc_shift(tk__crc_shift2, (uint32_t)a) ^
		      tk__crc_shift(tk__crc_shift1, (uint32_t)b) ^ (uint32_t)c;
		p += 3 * TK_CRC_CHUNK;
		len -= 3 * TK_CRC_CHUNK;
	}
	return tk__crc_hw(crc, p, len);
}

static void tk__crc_shift_init(void)
{
	static const uint8_t zeros[2 * TK_CRC_CHUNK];
	uint32_t i;

	for (i = 0; i < 32; i++) {
		tk__crc_shift1[i] = tk__crc_hw(1u << i, zeros, TK_CRC_CHUNK);
		tk__crc_shift2[i] = tk__crc_hw(1u << i, zeros, 2 * TK_CRC_CHUNK);
	}
}
#endif

static void tk__crc_init(void)
{
	tk__crc_table_init();
	tk__crc_fn = tk__crc_sw;
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2")) {
		tk__crc_shift_init();
		tk__crc_fn = tk__crc_hw3;
	}
#endif
}

uint32_t tk_crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&tk__crc_once, tk__crc_init);
	return ~tk__crc_fn(~crc, buf, len);
}

uint32_t tk_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&tk__crc_once, tk__crc_init);
	return ~tk__crc_sw(~crc, buf, len);
}

const char *tk_crc32c_impl(void)
{
	pthread_once(&tk__crc_once, tk__crc_init);
	return tk__crc_fn == tk__crc_sw ? "table" : "sse4.2";
}
