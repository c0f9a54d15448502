// SSE2/SSE3 code as gcc emits it (-m32 -O3 -msse3 -mfpmath=sse): vectorised loops and
// intrinsics for the MMX/SSE instruction groups, linked without libc. Only decoded and each
// encoding shape run once (tests/jit/corpus_test.ts); never executed as a program.
#include <emmintrin.h>
#include <pmmintrin.h>
#include <mmintrin.h>
#include <xmmintrin.h>

void add_u8(unsigned char *d, const unsigned char *a, const unsigned char *b, int n) {
  for (int i = 0; i < n; i++) d[i] = a[i] + b[i];
}
void mul_i16(short *d, const short *a, const short *b, int n) {
  for (int i = 0; i < n; i++) d[i] = a[i] * b[i];
}
void scale_f64(double *d, const double *a, double k, int n) {
  for (int i = 0; i < n; i++) d[i] = a[i] * k + 1.0;
}
float dot_f32(const float *a, const float *b, int n) {
  float s = 0;
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}
int find_byte(const unsigned char *p, unsigned char c) {
  __m128i k = _mm_set1_epi8((char)c);
  for (int i = 0;; i += 16) {
    int m = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), k));
    if (m) return i + __builtin_ctz(m);
  }
}
__m128i mix(__m128i a, __m128i b, __m128i *out) {
  __m128i r = _mm_adds_epu8(a, b);
  r = _mm_subs_epi16(r, _mm_mulhi_epi16(a, b));
  r = _mm_xor_si128(r, _mm_madd_epi16(a, b));
  r = _mm_add_epi64(r, _mm_mul_epu32(a, b));
  r = _mm_or_si128(r, _mm_sad_epu8(a, b));
  r = _mm_andnot_si128(r, _mm_avg_epu8(a, b));
  r = _mm_max_epi16(r, _mm_min_epu8(a, b));
  r = _mm_packs_epi32(r, _mm_packus_epi16(a, b));
  r = _mm_unpackhi_epi8(r, _mm_unpacklo_epi32(a, b));
  r = _mm_shuffle_epi32(r, 0x1b);
  r = _mm_shufflehi_epi16(_mm_shufflelo_epi16(r, 0x4e), 0xb1);
  r = _mm_srli_si128(_mm_slli_si128(r, 3), 5);
  r = _mm_sra_epi16(_mm_srli_epi32(_mm_slli_epi64(r, 7), 3), b);
  r = _mm_insert_epi16(r, _mm_extract_epi16(a, 5), 2);
  r = _mm_cmpgt_epi32(r, _mm_unpackhi_epi64(a, b));
  _mm_stream_si128(out, r);
  _mm_storeu_si128(out + 1, _mm_lddqu_si128(out + 2));
  _mm_maskmoveu_si128(r, a, (char *)(out + 3));
  _mm_stream_si32((int *)(out + 4), _mm_cvtsi128_si32(r));
  _mm_storel_epi64(out + 5, _mm_move_epi64(r));
  _mm_mfence();
  _mm_lfence();
  _mm_sfence();
  _mm_clflush(out);
  _mm_prefetch((const char *)out, _MM_HINT_T0);
  return r;
}
__m128 pack_ps(__m128 a, __m128 b, float *p) {
  __m128 r = _mm_shuffle_ps(a, b, 0x39);
  r = _mm_and_ps(_mm_or_ps(r, _mm_movehl_ps(a, b)), _mm_unpacklo_ps(a, b));
  r = _mm_loadh_pi(r, (const __m64 *)p);
  _mm_storel_pi((__m64 *)(p + 4), r);
  r = _mm_moveldup_ps(_mm_movehdup_ps(r));
  *(int *)(p + 8) = _mm_movemask_ps(r);
  _mm_store_ss(p + 9, r);
  return _mm_xor_ps(r, _mm_load_ps(p + 12));
}
__m128d pack_pd(__m128d a, __m128d b, double *p) {
  __m128d r = _mm_shuffle_pd(a, b, 1);
  r = _mm_loadh_pd(_mm_loadl_pd(r, p), p + 1);
  r = _mm_movedup_pd(_mm_unpackhi_pd(r, b));
  _mm_storeh_pd(p + 2, r);
  _mm_store_sd(p + 3, r);
  return _mm_andnot_pd(r, _mm_load_pd(p + 4));
}
__m64 mmx(__m64 a, __m64 b, __m64 *p) {
  __m64 r = _mm_add_pi16(a, b);
  r = _mm_subs_pu8(r, _mm_packs_pi16(a, b));
  r = _mm_unpackhi_pi8(r, _mm_cmpeq_pi32(a, b));
  r = _mm_sll_pi16(r, b);
  r = _mm_srai_pi32(r, 3);
  r = _mm_shuffle_pi16(r, 0x93);
  r = _mm_mulhi_pu16(r, _mm_avg_pu8(a, b));
  r = _mm_max_pi16(r, _mm_min_pu8(a, b));
  r = _mm_insert_pi16(r, _mm_extract_pi16(a, 2), 1);
  _mm_maskmove_si64(r, a, (char *)(p + 2));
  _mm_stream_pi(p + 3, r);
  *(int *)(p + 4) = _mm_movemask_pi8(r) + _mm_cvtsi64_si32(r);
  _mm_empty();
  return r;
}
int trunc_x87(long double x) { int i; __asm__("fisttpl %0" : "=m"(i) : "t"(x) : "st"); return i; }
void save(void *area) { __asm__ volatile("fxsave (%0)\n\tfxrstor (%0)\n\tstmxcsr 512(%0)\n\tldmxcsr 512(%0)" ::"r"(area) : "memory"); }
void main(void) {}
