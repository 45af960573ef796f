/* kernel/sched/wait.c - wait queues (the protocol is in kernel/wait.h). */
#include <kernel/wait.h>

void wait_queue_init(struct wait_queue *wq, const char *name)
{
    spin_lock_init(&wq->lock, name, LOCK_RANK_SLEEP);
    list_init(&wq->waiters);
}

void prepare_to_wait(struct wait_queue *wq, struct wait_entry *w)
{
    uint64_t flags = spin_lock_irqsave(&wq->lock);
    /* Still linked if a wake-up from elsewhere (kthread_stop) ended the last
     * sleep: then it is already on the list. */
    if (list_empty(&w->link)) {
        w->task = current_task();
        list_add_tail(&w->link, &wq->waiters);
    }
    set_current_state(TASK_BLOCKED);
    spin_unlock_irqrestore(&wq->lock, flags);
}

void finish_wait(struct wait_queue *wq, struct wait_entry *w)
{
    set_current_state(TASK_RUNNABLE);
    uint64_t flags = spin_lock_irqsave(&wq->lock);
    if (!list_empty(&w->link))
        list_del(&w->link);
    spin_unlock_irqrestore(&wq->lock, flags);
}

static int wake_up_some(struct wait_queue *wq, int max)
{
    int n = 0;
    uint64_t flags = spin_lock_irqsave(&wq->lock);
    while (!list_empty(&wq->waiters) && n < max) {
        struct wait_entry *w = list_first_entry(&wq->waiters, struct wait_entry, link);
        list_del(&w->link);     /* the sleeper sees an empty link: it was woken */
        wake_up_task(w->task);
        n++;
    }
    spin_unlock_irqrestore(&wq->lock, flags);
    return n;
}

int wake_up_one(struct wait_queue *wq) { return wake_up_some(wq, 1); }
int wake_up_all(struct wait_queue *wq) { return wake_up_some(wq, 1 << 30); }
