#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/rand.h>

/// One-shot HMAC with a named digest ("SHA1", "SHA256"); returns the MAC length or 0 on error.
static inline unsigned int copenssl_hmac(const char *digest, const void *key, int keyLength,
                                         const unsigned char *data, size_t dataLength, unsigned char *out) {
    const EVP_MD *md = EVP_get_digestbyname(digest);
    if (md == NULL) return 0;
    unsigned int length = 0;
    if (HMAC(md, key, keyLength, data, dataLength, out, &length) == NULL) return 0;
    return length;
}

/// One-shot message digest; returns the digest length or 0 on error.
static inline unsigned int copenssl_digest(const char *digest, const void *data, size_t dataLength, unsigned char *out) {
    const EVP_MD *md = EVP_get_digestbyname(digest);
    if (md == NULL) return 0;
    unsigned int length = 0;
    if (EVP_Digest(data, dataLength, out, &length, md, NULL) != 1) return 0;
    return length;
}
#endif
