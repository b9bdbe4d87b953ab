/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctx_x86_64.S - the context switch of lwkt threads on x86-64 (SysV ABI).
 *
 * Same contract as Boost.Context's jump_fcontext, which the other
 * architectures use:
 *
 *   transfer_t _lwkt_jump(fcontext_t to, void *data);
 *       saves the callee-saved registers on the current stack, switches to
 *       `to`, and "returns" there {fctx of the context we left, data}.
 *   fcontext_t _lwkt_make(void *stack_top, size_t size, void (*fn)(transfer_t));
 *       prepares a context whose first _lwkt_jump runs fn({from, data}).
 *
 * Difference from jump_fcontext: MXCSR and the x87 control word are not
 * saved and restored (they cost a serialising ldmxcsr/fldcw per switch).
 * All lwkt threads share the process's floating-point environment: a
 * thread must not change rounding modes or exception masks and then
 * switch.  Everything the ABI makes callee-saved (rbx, rbp, r12-r15, rsp)
 * is preserved; the rest is dead across a call anyway.
 */
	.text

	/* rdi = to (a saved stack pointer), rsi = data */
	.globl	_lwkt_jump
	.type	_lwkt_jump, @function
	.hidden	_lwkt_jump
	.p2align 4
_lwkt_jump:
	pushq	%rbp
	pushq	%rbx
	pushq	%r15
	pushq	%r14
	pushq	%r13
	pushq	%r12
	movq	%rsp, %rax	/* the context we leave: returned as fctx */
	movq	%rdi, %rsp
	popq	%r12
	popq	%r13
	popq	%r14
	popq	%r15
	popq	%rbx
	popq	%rbp
	movq	%rsi, %rdx	/* {rax = from, rdx = data}: a transfer_t */
	ret
	.size	_lwkt_jump, .-_lwkt_jump

	/* First "return" of a new context: call fn({from, data}).  fn is in
	 * rbx (restored from the frame _lwkt_make built); it never returns. */
	.type	_lwkt_trampoline, @function
	.p2align 4
_lwkt_trampoline:
	movq	%rax, %rdi
	movq	%rdx, %rsi
	callq	*%rbx
	ud2
	.size	_lwkt_trampoline, .-_lwkt_trampoline

	/* rdi = stack top, rsi = size (unused), rdx = fn.  Builds, below the
	 * 16-byte aligned top: six register slots (rbx = fn) and the return
	 * address _lwkt_trampoline; sp % 16 == 8 so that the trampoline's
	 * call happens with rsp 16-byte aligned, as the ABI requires. */
	.globl	_lwkt_make
	.type	_lwkt_make, @function
	.hidden	_lwkt_make
	.p2align 4
_lwkt_make:
	movq	%rdi, %rax
	andq	$-16, %rax
	subq	$72, %rax		/* 7 slots + 16 bytes, sp % 16 == 8 */
	movq	$0, 0(%rax)		/* r12 */
	movq	$0, 8(%rax)		/* r13 */
	movq	$0, 16(%rax)		/* r14 */
	movq	$0, 24(%rax)		/* r15 */
	movq	%rdx, 32(%rax)		/* rbx = fn */
	movq	$0, 40(%rax)		/* rbp: ends frame-pointer walks */
	leaq	_lwkt_trampoline(%rip), %rcx
	movq	%rcx, 48(%rax)		/* return address */
	movq	$0, 56(%rax)		/* fake return address of the trampoline */
	ret
	.size	_lwkt_make, .-_lwkt_make

	.section .note.GNU-stack,"",@progbits
