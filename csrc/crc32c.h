/* CRC-32C (Castagnoli), the checksum of Kafka's v2 record batches.
 *
 * kp_crc32c_update() advances the raw CRC register over n bytes: no inversion on the way in or
 * out. The CRC of a whole buffer is ~kp_crc32c_update(0xFFFFFFFF, buf, n). The implementation is
 * picked once, by kp_crc32c_init(), from what the CPU offers: 512-bit carry-less multiplication
 * (AVX-512 VPCLMULQDQ), else the SSE4.2 crc32 instruction on three interleaved streams, else a
 * table (slicing by 8). */
#ifndef KAFKAPY_CRC32C_H
#define KAFKAPY_CRC32C_H

#include <stddef.h>
#include <stdint.h>

void kp_crc32c_init(void);
uint32_t kp_crc32c_update(uint32_t crc, const uint8_t *p, size_t n);
/* "avx512-vpclmulqdq", "sse4.2" or "table" */
const char *kp_crc32c_impl(void);
/* for tests: use the named implementation from now on; 0 when this CPU has it, else -1 */
int kp_crc32c_select(const char *name);

#endif
