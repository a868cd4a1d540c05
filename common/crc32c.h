/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of
 * every journal block.  Chosen over CRC-32 (zlib) because x86 computes it
 * in hardware (SSE4.2 `crc32`, 8 bytes a cycle per lane) and iSCSI, ext4,
 * btrfs and Kafka's record batches use it, so any tool can check a block.
 * The SSE4.2 path is picked once at start-up (cpuid); elsewhere a
 * slicing-by-8 table.  No Debian library: none offers the hardware path
 * and a portable fallback in one small dependency (zlib's crc32 is the
 * other polynomial).
 */
#ifndef TK_COMMON_CRC32C_H
#define TK_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC of buf[len] continuing from crc (0 to start): crc32c(crc32c(0, a), b) ==
 * crc32c(0, a || b). */
uint32_t tk_crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable path, whatever the CPU (tests compare the two). */
uint32_t tk_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* "sse4.2" or "table": what tk_crc32c uses on this machine. */
const char *tk_crc32c_impl(void);

#endif
