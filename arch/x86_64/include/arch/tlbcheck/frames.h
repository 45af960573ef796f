/*
 * arch/tlbcheck/frames.h - the shadow-TLB checker's frame lifetimes
 * (docs/tlbcheck.md, "Frame lifetime").
 *
 * A frame may go back to the page allocator only when no CPU can still hold
 * a translation to it, in any PCID.  The kernel's rule that guarantees it:
 * a frame removed from a mapping (unmapped, or replaced by a copy) is
 * released only after a flush_tlb_mm_range() of that mm whose token covers
 * the removal returned.  The checker keeps, per frame, the removals whose
 * flush has not completed yet - a "pending record" (mm, seq) - and asserts
 * at page_free() that there is none.
 *
 * A second rule uses the same records: a frame may go back to the
 * allocator only when no user page-table entry maps it any more
 * (`frame_mapped`).  A frame shared by several mms - after fork, or a page
 * of a shared memory object (kernel/shm.h) - is unmapped by each of them
 * in turn; freeing it at the first unmap, while another mm still maps it,
 * is a use after free that no TLB model sees (that mm's entry is live, not
 * stale).  So each frame also counts the present user leaf entries that
 * point to it, as tlbcheck_pte_change() sees them made and removed.
 *
 * Per frame: up to TC_FRAME_RECORDS pending records.  A frame shared after
 * fork can be removed from several mms at once; when a frame has more
 * pending removals than that, the OLDEST record is forgotten (counted in
 * `forgotten`): the checker then reports less, never more.
 *
 * Per mm (struct tc_mm_frames, inside struct tc_mm): the frames with a
 * pending record of that mm, so that the record can be dropped as soon as a
 * flush of the mm covering it returns, and when the mm is freed - a record
 * never outlives its mm.  When that list is full the removal is not recorded
 * (counted in `untracked`): again less, never more.
 *
 * Locking: the records of a frame are guarded by one of TC_FRAME_LOCKS
 * spinlocks (chosen by frame number); a tc_mm's list by the tc_mm's lock.
 * Both irqsave; the frame locks rank after buddy_lock (page_free reports
 * under it) and after the tc_mm lock (docs/locking.md).
 *
 * The functions take the model explicitly, so a test can run a private
 * instance (tests/test_tlbcheck_owed.c).
 */
#pragma once
#include <kernel/spinlock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tc_model;
struct tc_cpu;
struct tc_mm;

#define TC_FRAME_RECORDS    2       /* pending removals remembered per frame */
#define TC_MM_PENDING       128     /* frames with a pending removal per mm (a batch is 64) */
#define TC_FRAME_LOCKS      64
#define TC_FRAME_CHUNK_SHIFT 17     /* frames per chunk: 2^17 x 40 bytes, in one 8 MiB block */
#define TC_FRAME_CHUNKS     64      /* frames modeled: 2^23, i.e. 32 GiB of RAM */

/* One removal of the frame from a mapping whose flush has not completed. */
struct tc_frame_rec {
    struct tc_mm *mm;           /* NULL: the record is free */
    uint64_t seq;               /* the change's number in mm */
};

struct tc_frame {
    struct tc_frame_rec rec[TC_FRAME_RECORDS];  /* oldest first */
    /* Present user leaf entries mapping the frame (atomic, no lock): +1 when
     * an entry starts to point here, -1 when it stops. */
    int32_t mapped;
};

/* Inside struct tc_mm: the frames this mm removed whose flush is pending. */
struct tc_mm_frames {
    unsigned npending;
    struct { uint64_t pa; uintptr_t va; uint64_t seq; const void *author; } pending[TC_MM_PENDING];
};

/* The per-frame records of a range of physical memory [0, nframes pages). */
struct tc_frames {
    struct tc_frame *chunk[TC_FRAME_CHUNKS];
    size_t nframes;
    struct spinlock lock[TC_FRAME_LOCKS];
    _Atomic uint64_t forgotten;     /* records dropped because a frame had too many */
    _Atomic uint64_t untracked;     /* removals not recorded: the mm's list was full */
};

/* A model of `nframes` frames whose records are the chunks already set in
 * f->chunk (each 2^TC_FRAME_CHUNK_SHIFT records, zeroed). */
void tc_frames_init(struct tc_frames *f, size_t nframes);

/* Does the PTE change old -> new take old's frame out of the mapping
 * (present -> not present, or present -> another frame)? */
bool tc_pte_change_removes_frame(uint64_t old, uint64_t new);

/* A user leaf entry changed from old to new (any change, flushed or not):
 * count the entries pointing at each frame.  No lock: atomics. */
void tc_frame_map_change(struct tc_frames *f, uint64_t old, uint64_t new);

/* Change `seq` of m (a PTE store, recorded by tc_pte_change) removed frame
 * pa from the mapping of va.  The _by form names the change's author
 * (arch/tlbcheck/open.h); the plain form is author NULL. */
void tc_frame_unmapped(struct tc_frames *f, struct tc_mm *m, uintptr_t va, uint64_t pa,
                       uint64_t seq);
void tc_frame_unmapped_by(struct tc_frames *f, struct tc_mm *m, uintptr_t va, uint64_t pa,
                          uint64_t seq, const void *author);
/* A flush of m with `token` returned (tc_check_flush_end_by closed its
 * author's changes): the removals up to token whose change is no longer
 * open are done.  Removals of other authors' open changes stay pending. */
void tc_frames_flushed(struct tc_frames *f, struct tc_mm *m, uint64_t token);
/* m is about to be freed: forget every record it still has. */
void tc_frames_mm_free(struct tc_frames *f, struct tc_mm *m);
/* The block of 2^order frames at pa goes back to the allocator (on CPU c,
 * for the report): no frame of it may still be mapped by a user entry (op
 * frame_mapped) nor have a pending removal whose mm's flushes have not
 * reached it (op frame_free).  The records are dropped. */
void tc_check_frame_free(struct tc_model *md, struct tc_frames *f, struct tc_cpu *c,
                         uint64_t pa, unsigned order);
