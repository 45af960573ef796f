/*
 * arch/mmio.h - mapping device registers.
 *
 * ioremap() maps [pa, pa+size) uncached (PCD|PWT) into the kernel virtual
 * area and returns the address of pa; device registers must never be cached
 * or combined.  Mappings are never torn down at run time (devices live for
 * the whole boot).  mmio_read32/mmio_write32 are single volatile accesses.
 */
#pragma once
#include <arch/memlayout.h>
#include <stddef.h>

void *ioremap(phys_addr_t pa, size_t size);

static inline uint32_t mmio_read32(const volatile void *p) { return *(const volatile uint32_t *)p; }
static inline void mmio_write32(volatile void *p, uint32_t v) { *(volatile uint32_t *)p = v; }
