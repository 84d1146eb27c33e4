#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/rsa.h>
#include <openssl/param_build.h>
#include <openssl/core_names.h>

/* EVP_PKEY_PUBLIC_KEY is a composed macro Swift does not import. */
static inline int gw_evp_pkey_public_key_selection(void) { return EVP_PKEY_PUBLIC_KEY; }
/* OSSL_PARAM_BLD keeps the key-name pointers it is given: Swift string literals would be
   temporaries, so the names are C globals. */
static const char *const gw_param_rsa_n = OSSL_PKEY_PARAM_RSA_N;
static const char *const gw_param_rsa_e = OSSL_PKEY_PARAM_RSA_E;
static const char *const gw_param_group_name = OSSL_PKEY_PARAM_GROUP_NAME;
static const char *const gw_param_pub_key = OSSL_PKEY_PARAM_PUB_KEY;
