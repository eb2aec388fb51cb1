/* key.c — key validation and generation (see key.h). */
#include "key.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "error.h"

/* Letters, digits and . _ : - ; a table, since every evict and every
 * named put checks its key byte by byte. */
static const bool key_chars[256] = {
    ['a' ... 'z'] = true, ['A' ... 'Z'] = true, ['0' ... '9'] = true,
    ['.'] = true,         ['_'] = true,         [':'] = true,         ['-'] = true,
};

static bool key_char(char c)
{
    return key_chars[(unsigned char)c];
}

bool ps_key_valid(const char *key)
{
    if (!key || key[0] == '\0' || key[0] == '.')
        return false;
    size_t n = 0;
    for (; key[n]; n++)
        if (n >= PS_KEY_MAX - 1 || !key_char(key[n]))
            return false;
    return true;
}

/* The key as a message can show it: printable, bounded, escaped. */
static void describe_key(const char *key, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; key[i] && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c >= 0x20 && c < 0x7f && c != '\'')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        if (i == 60 && key[i + 1]) {
            snprintf(out + o, cap - o, "...");
            return;
        }
    }
    out[o] = '\0';
}

ps_status ps_key_check(const char *key)
{
    if (ps_key_valid(key))
        return PS_OK;
    if (!key)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "no key given");
    char shown[96];
    describe_key(key, shown, sizeof shown);
    const char *why;
    if (key[0] == '\0')
        why = "it is empty";
    else if (key[0] == '.')
        why = "it starts with '.'";
    else if (strnlen(key, PS_KEY_MAX) >= PS_KEY_MAX)
        why = "it is longer than 127 bytes";
    else
        why = "keys use only letters, digits and . _ : -";
    return ps_error_set(PS_ERR_INVALID_ARGUMENT, "invalid key '%s': %s", shown, why);
}

/* getrandom costs a system call (about half a microsecond here, a third of
 * a small put), so each thread draws random bytes in blocks and spends them
 * 16 at a time.  A forked child must not reuse its parent's unspent block
 * (both would hand out the same keys): fork bumps a generation that makes
 * every block drawn before it stale. */
#define RANDOM_BLOCK 512

static unsigned fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void after_fork_in_child(void) { fork_generation++; }
static void install_atfork(void) { pthread_atfork(NULL, NULL, after_fork_in_child); }

static _Thread_local struct {
    unsigned char bytes[RANDOM_BLOCK];
    size_t used;
    unsigned generation;
} block = {.used = RANDOM_BLOCK};

static ps_status refill(void)
{
    size_t got = 0;
    while (got < RANDOM_BLOCK) {
        ssize_t n = getrandom(block.bytes + got, RANDOM_BLOCK - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            block.used = RANDOM_BLOCK;
            return ps_error_errno(PS_ERR_IO, "getrandom");
        }
        got += (size_t)n;
    }
    block.used = 0;
    block.generation = fork_generation;
    return PS_OK;
}

/* The two hex digits of each byte value, so that a key is 16 two-byte
 * copies (every put without a key of its own makes one). */
#define HEX_PAIR(n) {"0123456789abcdef"[(n) >> 4], "0123456789abcdef"[(n) & 15]}
#define HEX_ROW(r)                                                                                              \
    HEX_PAIR(r + 0), HEX_PAIR(r + 1), HEX_PAIR(r + 2), HEX_PAIR(r + 3), HEX_PAIR(r + 4), HEX_PAIR(r + 5),      \
        HEX_PAIR(r + 6), HEX_PAIR(r + 7), HEX_PAIR(r + 8), HEX_PAIR(r + 9), HEX_PAIR(r + 10), HEX_PAIR(r + 11), \
        HEX_PAIR(r + 12), HEX_PAIR(r + 13), HEX_PAIR(r + 14), HEX_PAIR(r + 15)
static const char hex_pairs[256][2] = {HEX_ROW(0),   HEX_ROW(16),  HEX_ROW(32),  HEX_ROW(48),
                                       HEX_ROW(64),  HEX_ROW(80),  HEX_ROW(96),  HEX_ROW(112),
                                       HEX_ROW(128), HEX_ROW(144), HEX_ROW(160), HEX_ROW(176),
                                       HEX_ROW(192), HEX_ROW(208), HEX_ROW(224), HEX_ROW(240)};

ps_status ps_key_generate(char key_out[PS_KEY_MAX])
{
    enum { BITS_BYTES = PS_KEY_RANDOM_LEN / 2 };
    pthread_once(&atfork_once, install_atfork);
    if (block.used + BITS_BYTES > RANDOM_BLOCK || block.generation != fork_generation) {
        ps_status st = refill();
        if (st != PS_OK)
            return st;
    }
    const unsigned char *bits = block.bytes + block.used;
    for (size_t i = 0; i < BITS_BYTES; i++)
        memcpy(key_out + 2 * i, hex_pairs[bits[i]], 2);
    key_out[PS_KEY_RANDOM_LEN] = '\0';
    memset(block.bytes + block.used, 0, BITS_BYTES); /* spent bytes are not kept */
    block.used += BITS_BYTES;
    return PS_OK;
}
