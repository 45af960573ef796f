/*
 * user/ipc_proto.h - the message format ipc_server and ipc_client agree on,
 * so both sides can check every word.
 *
 * Request:  label = client << 32 | seq, words[i] = req_word(label, i).
 * Reply:    label = request label + 1, words[i] = ~request words[i] for
 *           i < 5, words[5] = the caller's tid as the server saw it.
 */
#pragma once
#include <ulib.h>

static inline uint64_t req_word(uint64_t label, int i)
{
    return label * 0x9e3779b97f4a7c15ull + (uint64_t)i * 0x1000193ull;
}

static inline void make_request(struct sd_ipc_msg *m, unsigned client, unsigned seq)
{
    memset(m, 0, sizeof(*m));
    m->label = (uint64_t)client << 32 | seq;
    for (int i = 0; i < 6; i++)
        m->words[i] = req_word(m->label, i);
}

static inline bool request_ok(const struct sd_ipc_msg *m)
{
    for (int i = 0; i < 6; i++)
        if (m->words[i] != req_word(m->label, i))
            return false;
    return true;
}

static inline void make_reply(struct sd_ipc_msg *r, const struct sd_ipc_msg *req)
{
    memset(r, 0, sizeof(*r));
    r->label = req->label + 1;
    for (int i = 0; i < 5; i++)
        r->words[i] = ~req->words[i];
    r->words[5] = (uint64_t)(uint32_t)req->sender;
}

static inline bool reply_ok(const struct sd_ipc_msg *r, const struct sd_ipc_msg *req, int my_tid)
{
    if (r->label != req->label + 1 || r->words[5] != (uint64_t)(uint32_t)my_tid)
        return false;
    for (int i = 0; i < 5; i++)
        if (r->words[i] != ~req->words[i])
            return false;
    return true;
}
