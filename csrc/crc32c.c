/* CRC-32C for kafkapy's native helpers: see crc32c.h.
 *
 * Folding (the AVX-512 path): the message is a polynomial over GF(2); moving a 128-bit chunk D
 * bits further along the message multiplies it by x^D modulo the CRC polynomial, which one
 * carry-less multiplication per 64-bit half does. The constants below are x^(D+31) and x^(D-33)
 * modulo P, bit-reflected (the register's order), for the distances the code folds over. What is
 * left after folding is a 128-bit value whose CRC, taken from a zero register, is the CRC of
 * everything folded so far. Interleaving (the SSE4.2 path): three streams run side by side and
 * are joined by the same multiplication by x^D.
 * The constants are checked against a bitwise reference by tests/unit/log/test_native.py. */
#include "crc32c.h"

#include <string.h>

#define POLY 0x82F63B78u   /* Castagnoli, reflected */

static uint32_t table[8][256];

static void make_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? POLY : 0);
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

static uint32_t crc_table(uint32_t c, const uint8_t *p, size_t n) {
    while (n && ((uintptr_t)p & 7)) { c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff]; n--; }
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4); memcpy(&hi, p + 4, 4);
        lo ^= c;   /* little-endian hosts only: the x86-64 and arm64 machines kafkapy runs on */
        c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24]
            ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^ table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8; n -= 8;
    }
    while (n--) c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
    return c;
}

static uint32_t (*impl)(uint32_t, const uint8_t *, size_t) = crc_table;
static const char *impl_name = "table";

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define SSE_TARGET __attribute__((target("sse4.2,pclmul")))
#define AVX_TARGET __attribute__((target("sse4.2,pclmul,avx512f,avx512vl,vpclmulqdq")))

/* the register moved over the bytes that follow it: k = x^(8*len - 33) mod P */
SSE_TARGET static inline uint32_t shift_register(uint32_t c, uint64_t k) {
    __m128i r = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)c), _mm_cvtsi64_si128((long long)k), 0);
    return (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(r));
}

/* three streams of `block` bytes side by side while 3 * block bytes remain, joined by shifting the first
 * two over the bytes after them (k2: 2 * block bytes, k1: block bytes) */
SSE_TARGET static inline uint32_t three_streams(uint32_t c, const uint8_t **pp, size_t *np, size_t block,
                                                uint64_t k2, uint64_t k1) {
    const uint8_t *p = *pp;
    size_t n = *np;
    uint64_t a, b, d;
    while (n >= 3 * block) {
        uint64_t c0 = c, c1 = 0, c2 = 0;
        for (const uint8_t *e = p + block; p < e; p += 8) {
            memcpy(&a, p, 8); memcpy(&b, p + block, 8); memcpy(&d, p + 2 * block, 8);
            c0 = _mm_crc32_u64(c0, a); c1 = _mm_crc32_u64(c1, b); c2 = _mm_crc32_u64(c2, d);
        }
        c = shift_register((uint32_t)c0, k2) ^ shift_register((uint32_t)c1, k1) ^ (uint32_t)c2;
        p += 2 * block; n -= 3 * block;
    }
    *pp = p;
    *np = n;
    return c;
}

SSE_TARGET static uint32_t crc_sse42(uint32_t c, const uint8_t *p, size_t n) {
    uint64_t a;
    c = three_streams(c, &p, &n, 1024, 0xa51b6135, 0x170076fa);
    c = three_streams(c, &p, &n, 64, 0x0d3b6092, 0x9e4addf8);
    uint64_t c64 = c;
    for (; n >= 8; n -= 8, p += 8) { memcpy(&a, p, 8); c64 = _mm_crc32_u64(c64, a); }
    c = (uint32_t)c64;
    for (; n; n--, p++) c = _mm_crc32_u8(c, *p);
    return c;
}

/* (low, high) constants for folding a 128-bit chunk D bits forward */
#define K(lo, hi) _mm_set_epi64x((long long)(hi), (long long)(lo))
AVX_TARGET static inline __m128i fold128(__m128i x, __m128i k) {
    return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}
AVX_TARGET static inline __m512i fold512(__m512i x, __m512i k) {
    return _mm512_xor_si512(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11));
}
/* fold512(x, k) ^ data, the two XORs in one instruction */
AVX_TARGET static inline __m512i fold512_xor(__m512i x, __m512i k, __m512i data) {
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11),
                                     data, 0x96);
}

AVX_TARGET static uint32_t crc_avx512(uint32_t c, const uint8_t *p, size_t n) {
    if (n < 256) return crc_sse42(c, p, n);
    const __m512i k2048 = _mm512_broadcast_i32x4(K(0xdcb17aa4, 0xb9e02b86));
    __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)c)));
    __m512i x1 = _mm512_loadu_si512(p + 64), x2 = _mm512_loadu_si512(p + 128), x3 = _mm512_loadu_si512(p + 192);
    p += 256; n -= 256;
    for (; n >= 256; p += 256, n -= 256) {
        x0 = fold512_xor(x0, k2048, _mm512_loadu_si512(p));
        x1 = fold512_xor(x1, k2048, _mm512_loadu_si512(p + 64));
        x2 = fold512_xor(x2, k2048, _mm512_loadu_si512(p + 128));
        x3 = fold512_xor(x3, k2048, _mm512_loadu_si512(p + 192));
    }
    const __m512i k512 = _mm512_broadcast_i32x4(K(0x740eef02, 0x9e4addf8));
    __m512i x = _mm512_xor_si512(fold512(x0, _mm512_broadcast_i32x4(K(0xa87ab8a8, 0xab7aff2a))),
                                 fold512(x1, _mm512_broadcast_i32x4(K(0x6992cea2, 0x0d3b6092))));
    x = _mm512_xor_si512(x, _mm512_xor_si512(fold512(x2, k512), x3));
    for (; n >= 64; p += 64, n -= 64) x = fold512_xor(x, k512, _mm512_loadu_si512(p));
    const __m128i k128 = K(0xf20c0dfe, 0x493c7d27);
    __m128i y = _mm_xor_si128(fold128(_mm512_extracti32x4_epi32(x, 0), K(0x1c291d04, 0xddc0152b)),
                              fold128(_mm512_extracti32x4_epi32(x, 1), K(0x3da6d0cb, 0xba4fc28e)));
    y = _mm_xor_si128(y, _mm_xor_si128(fold128(_mm512_extracti32x4_epi32(x, 2), k128), _mm512_extracti32x4_epi32(x, 3)));
    for (; n >= 16; p += 16, n -= 16) y = _mm_xor_si128(fold128(y, k128), _mm_loadu_si128((const __m128i *)p));
    uint64_t r = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(y));
    r = _mm_crc32_u64(r, (uint64_t)_mm_extract_epi64(y, 1));
    /* clean upper register halves before any legacy-SSE code runs (the tail below, then the
     * interpreter): a dirty upper state slows every such instruction after it */
    _mm256_zeroupper();
    return crc_sse42((uint32_t)r, p, n);
}

static int has_sse42(void) { return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul"); }
static int has_avx512(void) {
    return has_sse42() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("vpclmulqdq");
}

int kp_crc32c_select(const char *name) {
    __builtin_cpu_init();
    if (!strcmp(name, "table")) { impl = crc_table; impl_name = "table"; return 0; }
    if (!strcmp(name, "sse4.2") && has_sse42()) { impl = crc_sse42; impl_name = "sse4.2"; return 0; }
    if (!strcmp(name, "avx512-vpclmulqdq") && has_avx512()) { impl = crc_avx512; impl_name = "avx512-vpclmulqdq"; return 0; }
    return -1;
}

static void pick(void) {
    __builtin_cpu_init();
    if (has_avx512()) kp_crc32c_select("avx512-vpclmulqdq");
    else if (has_sse42()) kp_crc32c_select("sse4.2");
}
#else
int kp_crc32c_select(const char *name) {
    if (!strcmp(name, "table")) return 0;
    return -1;
}
static void pick(void) {}
#endif

void kp_crc32c_init(void) {
    make_table();
    pick();
}

uint32_t kp_crc32c_update(uint32_t crc, const uint8_t *p, size_t n) { return impl(crc, p, n); }

const char *kp_crc32c_impl(void) { return impl_name; }
