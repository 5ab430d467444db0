//! The diagnostics engine line shape by line shape: one table test per
//! diagnostic family, one test per false-positive trap, deduplication,
//! ktest steps and runs, and what explains a failed build.
//!
//! Every log is run twice, through the fast path ([`scan`] hands whole
//! chunks to `LineSink::lines`) and line by line (`LineSink::line`), and
//! both must give the same report.

use kcidb_harvest_parsers::diag::{DiagReport, Engine, ExcerptKind, Kind, Severity};
use kcidb_harvest_parsers::logscan::{scan, LineSink};

/// Run the engine over `log` both ways; they must agree.
fn diag(log: &str) -> DiagReport {
    let mut fast = Engine::new();
    scan("test.log", log.as_bytes(), &mut [&mut fast]).expect("scan");
    let fast = fast.finish();
    let mut slow = Engine::new();
    for (i, l) in log.split_terminator('\n').enumerate() {
        slow.line(i as u64 + 1, l.strip_suffix('\r').unwrap_or(l).as_bytes());
    }
    let slow = slow.finish();
    let json = |r: &DiagReport| {
        let mut v = serde_json::to_value(r).expect("report serialises");
        // Byte totals differ by design when lines end in CR.
        v["bytes"] = 0.into();
        v
    };
    assert_eq!(json(&fast), json(&slow), "fast path and line path differ");
    for k in [ExcerptKind::Fail, ExcerptKind::Warnings, ExcerptKind::Tail] {
        assert_eq!(fast.excerpt(k), slow.excerpt(k), "{k:?} excerpt differs");
    }
    fast
}

type Row = (Kind, Severity, Option<String>, Option<u32>, String);

/// The distinct diagnostics as comparable rows.
fn rows(r: &DiagReport) -> Vec<Row> {
    r.diagnostics
        .iter()
        .map(|d| {
            (
                d.kind,
                d.severity,
                d.file.clone(),
                d.line,
                d.message.clone(),
            )
        })
        .collect()
}

fn row(kind: Kind, sev: Severity, file: Option<&str>, line: Option<u32>, msg: &str) -> Row {
    (kind, sev, file.map(str::to_string), line, msg.to_string())
}

use Kind::*;
use Severity::{Error as E, Warning as W};

/// `grep -c -i` of `needle` over `log`, as the reference for raw counts.
fn grep_ci(log: &str, needle: &str) -> u64 {
    log.split_terminator('\n')
        .filter(|l| l.to_ascii_lowercase().contains(needle))
        .count() as u64
}

fn assert_raw(log: &str, r: &DiagReport) {
    assert_eq!(r.warnings_raw, grep_ci(log, "warning:"), "warnings_raw");
    assert_eq!(r.errors_raw, grep_ci(log, "error:"), "errors_raw");
}

// ---------------------------------------------------------------------
// Families
// ---------------------------------------------------------------------

#[test]
fn gcc_family() {
    let log = "\
../init/main.c: In function ‘start_kernel’:
../init/main.c:916:13: warning: unused variable ‘ktest_unused_counter’ [-Wunused-variable]
  916 |         int ktest_unused_counter;
      |             ^~~~~~~~~~~~~~~~~~~~
drivers/gpu/drm/nouveau/nvkm/subdev/gsp/r535.c:1266:3: error: label at end of compound statement
 1266 |   default:
      |   ^~~~~~~
/usr/include/stdio.h:27:10: fatal error: bits/libc-header-start.h: No such file or directory
compilation terminated.
../kernel/sys.c:954:1: error: control reaches end of non-void function [-Werror=return-type]
../drivers/spi/spi-sh-msiof.c:78: warning: \"STR\" redefined
<stdin>:1519:2: warning: #warning syscall clone3 not implemented [-Wcpp]
gcc: error: unrecognized command-line option ‘-mfoo’
cc1: warning: command-line option ‘-Wno-bar’ is valid for C++ but not for C
cc1: some warnings being treated as errors
";
    let r = diag(log);
    assert_eq!(
        rows(&r),
        vec![
            row(
                Compiler,
                W,
                Some("init/main.c"),
                Some(916),
                "unused variable ‘ktest_unused_counter’ [-Wunused-variable]"
            ),
            row(
                Compiler,
                E,
                Some("drivers/gpu/drm/nouveau/nvkm/subdev/gsp/r535.c"),
                Some(1266),
                "label at end of compound statement"
            ),
            row(
                Compiler,
                E,
                Some("/usr/include/stdio.h"),
                Some(27),
                "bits/libc-header-start.h: No such file or directory"
            ),
            row(
                Compiler,
                E,
                Some("kernel/sys.c"),
                Some(954),
                "control reaches end of non-void function [-Werror=return-type]"
            ),
            row(
                Compiler,
                W,
                Some("drivers/spi/spi-sh-msiof.c"),
                Some(78),
                "\"STR\" redefined"
            ),
            row(
                Compiler,
                W,
                Some("<stdin>"),
                Some(1519),
                "#warning syscall clone3 not implemented [-Wcpp]"
            ),
            row(
                Compiler,
                E,
                None,
                None,
                "unrecognized command-line option ‘-mfoo’"
            ),
            row(
                Compiler,
                W,
                None,
                None,
                "command-line option ‘-Wno-bar’ is valid for C++ but not for C"
            ),
        ]
    );
    assert_eq!((r.warnings, r.errors), (4, 4));
    assert_eq!(r.diagnostics[0].column, Some(13));
    assert_eq!(r.diagnostics[4].column, None);
    assert_raw(log, &r);
}

#[test]
fn clang_family() {
    let log = "\
/builds/linux/net/xfrm/xfrm_policy.c:1287:8: error: variable 'dir' is uninitialized when used here [-Werror,-Wuninitialized]
 1287 |                 if ((dir & XFRM_POLICY_MASK) == XFRM_POLICY_OUT) {
      |                      ^~~
/builds/linux/net/xfrm/xfrm_policy.c:1258:9: note: initialize the variable 'dir' to silence this warning
 1258 |         int dir;
      |                ^
      |                 = 0
1 error generated.
/builds/linux/drivers/soc/rockchip/pm_domains.c:742:21: warning: shift count is negative [-Wshift-count-negative]
/builds/linux/include/linux/bits.h:8:26: note: expanded from macro 'BIT'
2 warnings generated.
clang: error: argument unused during compilation: '-pie' [-Werror,-Wunused-command-line-argument]
clang: error: linker command failed with exit code 1 (use -v to see invocation)
";
    let r = diag(log);
    assert_eq!(
        rows(&r),
        vec![
            row(Compiler, E, Some("net/xfrm/xfrm_policy.c"), Some(1287), "variable 'dir' is uninitialized when used here [-Werror,-Wuninitialized]"),
            row(Compiler, W, Some("drivers/soc/rockchip/pm_domains.c"), Some(742), "shift count is negative [-Wshift-count-negative]"),
            row(Compiler, E, None, None, "argument unused during compilation: '-pie' [-Werror,-Wunused-command-line-argument]"),
        ]
    );
    let fail = r.excerpt(ExcerptKind::Fail).expect("fail excerpt");
    assert!(
        fail.contains("|                 = 0"),
        "fix-it line kept: {fail}"
    );
    assert_raw(log, &r);
}

#[test]
fn gnu_ld_family() {
    let log = "\
arm-linux-gnueabihf-ld: kernel/rcu/update.o: in function `rcu_trc_cmpxchg_need_qs':
update.c:(.text+0x318): undefined reference to `__bad_cmpxchg'
arm-linux-gnueabihf-ld: kernel/rcu/update.o:update.c:(.text+0x1d10): more undefined references to `__bad_cmpxchg' follow
arm-linux-gnueabihf-ld: drivers/firmware/efi/efi-init.o: in function `.LANCHOR1':
efi-init.c:(.data+0x0): multiple definition of `screen_info'; arch/arm/kernel/setup.o:setup.c:(.data+0x12c): first defined here
riscv64-linux-gnu-ld: failed to merge target specific data of file fs/efivarfs/file.o
/usr/bin/ld: warning: arch/x86/entry/foo.o: missing .note.GNU-stack section implies executable stack
/usr/bin/ld: NOTE: This behaviour is deprecated and will be removed in a future version of the linker
s390x-linux-gnu-ld: vmlinux: warning: allocated section `.got.plt' not in segment
collect2: error: ld returned 1 exit status
";
    let r = diag(log);
    assert_eq!(
        rows(&r),
        vec![
            row(Linker, E, Some("kernel/rcu/update.o"), None, "undefined reference to `__bad_cmpxchg'"),
            row(Linker, E, Some("drivers/firmware/efi/efi-init.o"), None, "multiple definition of `screen_info'; arch/arm/kernel/setup.o:setup.c:(.data+0x12c): first defined here"),
            row(Linker, E, None, None, "failed to merge target specific data of file fs/efivarfs/file.o"),
            row(Linker, W, None, None, "arch/x86/entry/foo.o: missing .note.GNU-stack section implies executable stack"),
            row(Linker, W, Some("vmlinux"), None, "allocated section `.got.plt' not in segment"),
        ]
    );
    // grep misses every GNU ld error here: none says `error:`.
    assert_eq!(r.errors_raw, 1);
    assert_raw(log, &r);
}

#[test]
fn ld_lld_family() {
    let log = "\
ld.lld: error: undefined symbol: irq_work_queue
>>> referenced by task_work.c
>>>               kernel/task_work.o:(task_work_add) in archive vmlinux.a
ld.lld: warning: vmlinux.a(mm/sparse.o):(.ARM.attributes) is being placed in '.ARM.attributes'
make[3]: *** [/builds/linux/scripts/Makefile.vmlinux:34: vmlinux] Error 1
make[3]: Target '__default' not remade because of errors.
make: *** [Makefile:224: __sub-make] Error 2
";
    let r = diag(log);
    assert_eq!(
        rows(&r),
        vec![
            row(Linker, E, None, None, "undefined symbol: irq_work_queue"),
            row(
                Linker,
                W,
                None,
                None,
                "vmlinux.a(mm/sparse.o):(.ARM.attributes) is being placed in '.ARM.attributes'"
            ),
        ]
    );
    let fail = r.excerpt(ExcerptKind::Fail).expect("fail excerpt");
    assert!(fail.starts_with(
        "ld.lld: error: undefined symbol: irq_work_queue\n>>> referenced by task_work.c\n"
    ));
    assert!(
        fail.contains("make[3]: *** [/builds/linux/scripts/Makefile.vmlinux:34: vmlinux] Error 1")
    );
    assert!(!fail.contains("not remade"));
    assert_raw(log, &r);
}

#[test]
fn modpost_family() {
    let log = "\
ERROR: modpost: \"foo_bar\" [drivers/x/y.ko] undefined!
ERROR: modpost: module binfmt_misc uses symbol d_drop from namespace ANDROID_GKI_VFS_EXPORT_ONLY, but does not import it.
WARNING: modpost: vmlinux: section mismatch in reference: alloc_reserved_mem_array+0x76 (section: .text) -> memblock_alloc_try_nid (section: .init.text)
WARNING: modpost: vmlinux: section mismatch in reference: alloc_reserved_mem_array+0x9a (section: .text) -> memblock_alloc_try_nid (section: .init.text)
WARNING: modpost: missing MODULE_DESCRIPTION() in vmlinux.o
WARNING: vmlinux.o(__ex_table+0x1750): Section mismatch in reference from the (unknown reference) (unknown) to the (unknown reference) .irqentry.text:(unknown)
ERROR: \"old_sym\" [drivers/old/mod.ko] undefined!
FATAL: modpost: Section mismatches detected.
";
    let r = diag(log);
    let got: Vec<(Kind, Severity)> = r.diagnostics.iter().map(|d| (d.kind, d.severity)).collect();
    assert_eq!(
        got,
        vec![
            (Modpost, E),
            (Modpost, E),
            (Modpost, W),
            (Modpost, W),
            (Modpost, W),
            (Modpost, E),
            (Modpost, E)
        ],
        "{:#?}",
        r.diagnostics
    );
    // The two mismatches differ only in the offset: one diagnostic.
    assert_eq!(r.diagnostics[2].occurrences, 2);
    assert_eq!(r.diagnostics[4].file.as_deref(), Some("vmlinux.o"));
    assert_eq!(r.diagnostics[5].file.as_deref(), Some("drivers/old/mod.ko"));
    assert_raw(log, &r);
}

#[test]
fn objtool_family() {
    let log = "\
vmlinux.o: warning: objtool: vmx_vcpu_enter_exit+0x15b: call to wrmsrl.constprop.0() leaves .noinstr.text section
fs/dlm/lock.o: warning: objtool: revert_lock_pc()+0xbd: can't find jump dest instruction at .text+0xd7fc
fs/dlm/lock.o: warning: objtool: revert_lock_pc()+0xc1: can't find jump dest instruction at .text+0xd800
drivers/pwm/pwm-mediatek.o: error: objtool: .text: unexpected end of section
";
    let r = diag(log);
    assert_eq!(
        rows(&r),
        vec![
            row(Objtool, W, Some("vmlinux.o"), None, "vmx_vcpu_enter_exit+0x15b: call to wrmsrl.constprop.0() leaves .noinstr.text section"),
            row(Objtool, W, Some("fs/dlm/lock.o"), None, "revert_lock_pc()+0xbd: can't find jump dest instruction at .text+0xd7fc"),
            row(Objtool, E, Some("drivers/pwm/pwm-mediatek.o"), None, ".text: unexpected end of section"),
        ]
    );
    assert_eq!(
        r.diagnostics[1].occurrences, 2,
        "offsets do not make it distinct"
    );
    assert_raw(log, &r);
}

#[test]
fn kconfig_family() {
    let log = "\
.config:7772:warning: override: reassigning to symbol MEDIATEK_WATCHDOG
.config:7821:warning: symbol value 'y' invalid for KASAN_STACK
WARNING: unmet direct dependencies detected for GET_FREE_REGION
  Depends on [n]: SPARSEMEM [=n]
  Selected by [y]:
  - RESOURCE_KUNIT_TEST [=y] && RUNTIME_TESTING_MENU [=y] && KUNIT [=y]
warning: (FOO && BAR) selects BAZ which has unmet direct dependencies (QUX)
drivers/foo/Kconfig:12:warning: defaults for choice values not supported
arch/x86/Kconfig:12: syntax error
drivers/foo/Kconfig:3:error: recursive dependency detected!
drivers/foo/Kconfig:3:\tsymbol FOO depends on BAR
*** Error during writing of the configuration.
Value of CONFIG_KERNEL_XZ is redefined by fragment ../kernel/configs/tiny.config:
Previous value: # CONFIG_KERNEL_XZ is not set
New value: CONFIG_KERNEL_XZ=y
";
    let r = diag(log);
    assert_eq!(
        rows(&r),
        vec![
            row(
                Kconfig,
                W,
                Some(".config"),
                Some(7772),
                "override: reassigning to symbol MEDIATEK_WATCHDOG"
            ),
            row(
                Kconfig,
                W,
                Some(".config"),
                Some(7821),
                "symbol value 'y' invalid for KASAN_STACK"
            ),
            row(
                Kconfig,
                W,
                None,
                None,
                "unmet direct dependencies detected for GET_FREE_REGION"
            ),
            row(
                Kconfig,
                W,
                None,
                None,
                "(FOO && BAR) selects BAZ which has unmet direct dependencies (QUX)"
            ),
            row(
                Kconfig,
                W,
                Some("drivers/foo/Kconfig"),
                Some(12),
                "defaults for choice values not supported"
            ),
            row(
                Kconfig,
                E,
                Some("arch/x86/Kconfig"),
                Some(12),
                "syntax error"
            ),
            row(
                Kconfig,
                E,
                Some("drivers/foo/Kconfig"),
                Some(3),
                "recursive dependency detected!"
            ),
            row(
                Kconfig,
                E,
                None,
                None,
                "Error during writing of the configuration."
            ),
        ]
    );
    let w = r.excerpt(ExcerptKind::Warnings).expect("warnings excerpt");
    assert!(w.contains("WARNING: unmet direct dependencies detected for GET_FREE_REGION\n  Depends on [n]: SPARSEMEM [=n]\n  Selected by [y]:\n  - RESOURCE_KUNIT_TEST"), "{w}");
    assert_raw(log, &r);
}

#[test]
fn dtc_family() {
    let log = "\
arch/arm64/boot/dts/qcom/ipq8074-hk01.dtb: Warning (reg_format): /soc/nand@79b0000/nand@0:reg: property has invalid length (4 bytes) (#address-cells == 2, #size-cells == 1)
arch/arm64/boot/dts/qcom/ipq8074-hk01.dtb: Warning (pci_device_bus_num): Failed prerequisite 'reg_format'
/builds/linux/arch/arm64/boot/dts/broadcom/stingray/stingray-usb.dtsi:7.3-14: Warning (dma_ranges_format): /usb:dma-ranges: empty \"dma-ranges\" property but its #size-cells (1) differs from /
Error: arch/arm/boot/dts/foo.dts:12.1-5 syntax error
FATAL ERROR: Unable to parse input tree
";
    let r = diag(log);
    assert_eq!(
        rows(&r),
        vec![
            row(Dtc, W, Some("arch/arm64/boot/dts/qcom/ipq8074-hk01.dtb"), None, "reg_format: /soc/nand@79b0000/nand@0:reg: property has invalid length (4 bytes) (#address-cells == 2, #size-cells == 1)"),
            row(Dtc, W, Some("arch/arm64/boot/dts/qcom/ipq8074-hk01.dtb"), None, "pci_device_bus_num: Failed prerequisite 'reg_format'"),
            row(Dtc, W, Some("arch/arm64/boot/dts/broadcom/stingray/stingray-usb.dtsi"), Some(7), "dma_ranges_format: /usb:dma-ranges: empty \"dma-ranges\" property but its #size-cells (1) differs from /"),
            row(Dtc, E, Some("arch/arm/boot/dts/foo.dts"), Some(12), "syntax error"),
            row(Dtc, E, None, None, "Unable to parse input tree"),
        ]
    );
    // `Warning (...)` is invisible to grep.
    assert_eq!(r.warnings_raw, 0);
    assert_raw(log, &r);
}

#[test]
fn rustc_family() {
    let log = "\
error[E0425]: cannot find value `VM_READ` in crate `bindings`
   --> rust/kernel/mm/virt.rs:399:44
    |
399 |     pub const READ: vm_flags_t = bindings::VM_READ as vm_flags_t;
    |                                            ^^^^^^^ not found in `bindings`

warning: unused variable: `x`
 --> rust/kernel/lib.rs:10:9
  |
10 |     let x = 1;
  |         ^ help: if this is intentional, prefix it with an underscore: `_x`
  |
  = note: `#[warn(unused_variables)]` on by default

error[E0308]: mismatched types
  --> /builds/linux/rust/kernel/sync.rs:5:1
error: aborting due to 2 previous errors; 1 warning emitted
warning: 1 warning emitted
make[2]: *** [rust/Makefile:460: rust/kernel.o] Error 1
";
    let r = diag(log);
    assert_eq!(
        rows(&r),
        vec![
            row(
                Rust,
                E,
                Some("rust/kernel/mm/virt.rs"),
                Some(399),
                "cannot find value `VM_READ` in crate `bindings`"
            ),
            row(
                Rust,
                W,
                Some("rust/kernel/lib.rs"),
                Some(10),
                "unused variable: `x`"
            ),
            row(
                Rust,
                E,
                Some("rust/kernel/sync.rs"),
                Some(5),
                "mismatched types"
            ),
        ]
    );
    assert_eq!(r.diagnostics[0].column, Some(44));
    assert!(!r.errors_by_kind.contains_key("make"), "explained by rustc");
    let fail = r.excerpt(ExcerptKind::Fail).expect("fail excerpt");
    assert!(fail.starts_with("error[E0425]: cannot find value `VM_READ` in crate `bindings`\n   --> rust/kernel/mm/virt.rs:399:44"), "{fail}");
    assert_raw(log, &r);
}

#[test]
fn assembler_and_sparse_families() {
    let log = "\
arch/x86/entry/entry_64.S: Assembler messages:
arch/x86/entry/entry_64.S:123: Error: no such instruction: `foo'
arch/x86/entry/entry_64.S:130: Warning: unknown section attribute
/tmp/cclji32d.s: Assembler messages:
/tmp/cclji32d.s:129: Error: invalid barrier type -- `dmb ishld'
arch/arm64/kernel/head.S:12:3: error: unknown directive
sound/soc/fsl/fsl_easrc.c:1465:51: sparse: warning: incorrect type in assignment (different base types)
sound/soc/fsl/fsl_easrc.c:1465:51: sparse:    expected unsigned int sample_format
sound/soc/fsl/fsl_easrc.c:1465:51: sparse:    got restricted snd_pcm_format_t [usertype]
";
    let r = diag(log);
    assert_eq!(
        rows(&r),
        vec![
            row(
                Assembler,
                E,
                Some("arch/x86/entry/entry_64.S"),
                Some(123),
                "no such instruction: `foo'"
            ),
            row(
                Assembler,
                W,
                Some("arch/x86/entry/entry_64.S"),
                Some(130),
                "unknown section attribute"
            ),
            row(
                Assembler,
                E,
                Some("/tmp/ccXXXXXX.s"),
                Some(129),
                "invalid barrier type -- `dmb ishld'"
            ),
            row(
                Assembler,
                E,
                Some("arch/arm64/kernel/head.S"),
                Some(12),
                "unknown directive"
            ),
            row(
                Compiler,
                W,
                Some("sound/soc/fsl/fsl_easrc.c"),
                Some(1465),
                "incorrect type in assignment (different base types)"
            ),
        ]
    );
    assert_raw(log, &r);
}

#[test]
fn make_family_counts_only_unexplained_failures() {
    // Nothing explains the failure: the innermost recipe counts, once.
    let log = "\
mv: cannot stat 'arch/mips/boot/dts/brcm/.bcm6358-neufbox4-sercomm.dtb.tmp': No such file or directory
make[3]: *** [scripts/Makefile.lib:294: arch/mips/boot/dts/brcm/bcm6358-neufbox4-sercomm.dtb] Error 1
make[3]: *** Deleting file 'arch/mips/boot/dts/brcm/bcm6358-neufbox4-sercomm.dtb'
make[2]: *** [../scripts/Makefile.build:544: arch/mips/boot/dts/brcm] Error 2
make[1]: *** [/linux/Makefile:1074: arch/mips/boot/dts] Error 2
make: *** [Makefile:146: sub-make] Error 2
";
    let r = diag(log);
    assert_eq!(
        rows(&r),
        vec![row(Make, E, None, None, "[scripts/Makefile.lib:294: arch/mips/boot/dts/brcm/bcm6358-neufbox4-sercomm.dtb] Error 1")]
    );
    assert_eq!(r.make_failures.len(), 4);
    let fail = r.excerpt(ExcerptKind::Fail).expect("fail excerpt");
    assert!(
        fail.starts_with("mv: cannot stat"),
        "the line before the failure: {fail}"
    );

    // make's own error explains it.
    let r = diag("make: *** No rule to make target 'Image'.  Stop.\n");
    assert_eq!(
        rows(&r),
        vec![row(
            Make,
            E,
            None,
            None,
            "No rule to make target 'Image'.  Stop."
        )]
    );
    let r = diag("/builds/linux/scripts/kconfig/Makefile:95: *** No configuration exists for this target on this architecture.  Stop.\nmake[1]: *** [/builds/linux/Makefile:630: defconfig] Error 2\n");
    assert_eq!(
        rows(&r),
        vec![row(
            Make,
            E,
            None,
            None,
            "No configuration exists for this target on this architecture.  Stop."
        )]
    );

    // A compiler error explains everything after it, including the
    // follow-on `No rule to make target 'modules.order'` of a later pass.
    let log = "\
/builds/linux/net/xfrm/xfrm_policy.c:1287:8: error: variable 'dir' is uninitialized when used here [-Werror,-Wuninitialized]
make[5]: *** [/builds/linux/scripts/Makefile.build:244: net/xfrm/xfrm_policy.o] Error 1
make[5]: Target 'net/xfrm/' not remade because of errors.
make: *** [Makefile:224: __sub-make] Error 2
make[3]: *** No rule to make target 'modules.order', needed by '/build/modinstall/lib/modules/6.11.0/modules.order'.
";
    let r = diag(log);
    assert_eq!(r.errors, 1);
    assert_eq!(
        r.errors_by_kind.keys().collect::<Vec<_>>(),
        vec!["compiler"]
    );
}

#[test]
fn environment_failures_are_not_code_errors() {
    let cases: [(&str, &str); 4] = [
        (
            "cc1: fatal error: error writing to /tmp/ccAbC123.s: No space left on device\ncompilation terminated.\nmake[3]: *** [scripts/Makefile.build:250: kernel/fork.o] Error 1\n",
            "cc1: fatal error: error writing to /tmp/ccAbC123.s: No space left on device",
        ),
        (
            "gcc: fatal error: Killed signal terminated program cc1\ncompilation terminated.\nmake[3]: *** [scripts/Makefile.build:250: kernel/fork.o] Error 1\n",
            "gcc: fatal error: Killed signal terminated program cc1",
        ),
        (
            "make[3]: *** [scripts/Makefile.build:250: drivers/gpu/x.o] Killed\nmake: *** [Makefile:250: __sub-make] Error 2\n",
            "make[3]: *** [scripts/Makefile.build:250: drivers/gpu/x.o] Killed",
        ),
        (
            "/bin/sh: line 1: 4242 Segmentation fault      (core dumped) scripts/sorttable vmlinux\nmake[1]: *** [scripts/Makefile.vmlinux:35: vmlinux] Error 139\n",
            "/bin/sh: line 1: 4242 Segmentation fault      (core dumped) scripts/sorttable vmlinux",
        ),
    ];
    for (log, env) in cases {
        let r = diag(log);
        assert_eq!(r.errors, 0, "{log}: {:#?}", r.diagnostics);
        assert!(r.errors_by_kind.is_empty(), "{log}");
        // The cause only: make's `Error 127` after it adds nothing.
        assert_eq!(r.environment_failures, vec![env.to_string()], "{log}");
        let tail = r.excerpt(ExcerptKind::Tail).expect("tail");
        assert!(tail.starts_with(env), "{tail}");
    }
}

// ---------------------------------------------------------------------
// False-positive traps
// ---------------------------------------------------------------------

fn assert_nothing(log: &str) -> DiagReport {
    let r = diag(log);
    assert_eq!(
        (r.warnings, r.errors),
        (0, 0),
        "{log}\n{:#?}",
        r.diagnostics
    );
    assert!(r.diagnostics.is_empty());
    assert!(
        r.environment_failures.is_empty(),
        "{:?}",
        r.environment_failures
    );
    assert_eq!(r.excerpt(ExcerptKind::Warnings), None);
    assert_raw(log, &r);
    r
}

#[test]
fn trap_file_and_object_names() {
    let r = assert_nothing(
        "  CC      drivers/base/error.o
  CC [M]  drivers/net/wireless/warning.o
  HOSTCC  scripts/error.c
  AR      lib/error-inject.a
  LD [M]  drivers/md/dm-error.ko
  CC      drivers/gpu/drm/i915/gt/uc/intel_guc_error.o
  GEN     include/generated/error.h
",
    );
    assert_eq!(r.errors_raw, 0);
    // A real warning in a file named error.c is still a warning.
    let r = diag("drivers/base/error.c: In function ‘f’:\ndrivers/base/error.c:3:5: warning: unused variable ‘x’ [-Wunused-variable]\n");
    assert_eq!(
        rows(&r),
        vec![row(
            Compiler,
            W,
            Some("drivers/base/error.c"),
            Some(3),
            "unused variable ‘x’ [-Wunused-variable]"
        )]
    );
}

#[test]
fn trap_option_text() {
    assert_nothing(
        "gcc -Wp,-MMD,init/.main.o.d -nostdinc -Werror -Wno-error=unused-variable -Werror=implicit-function-declaration -c -o init/main.o init/main.c
KCFLAGS=-Werror make -j8
cc1: all warnings being treated as errors
cc1: some warnings being treated as errors
BUILD_OPTIONS = -j2 KCFLAGS=-Wno-error
",
    );
}

#[test]
fn trap_progress_and_framing_lines() {
    assert_nothing(
        "  SYNC    include/config/auto.conf.cmd
  Kernel: arch/x86/boot/bzImage is ready  (#1)
EMAIL_ON_ERROR = 1
POWEROFF_ON_ERROR = 0
[14 seconds] FAILED!
Build time:   10 minutes 40 seconds
*** WARNINGS found in build: 25 ***
KTEST RESULT: TEST 1 SUCCESS!!!!   **
    1 of 1 tests were successful
make[1]: Entering directory '/dev/shm/stable_test_6.1_daCG4/linux/output'
make[1]: Leaving directory '/dev/shm/stable_test_6.1_daCG4/linux/output'
",
    );
}

#[test]
fn trap_make_keep_going_cascade() {
    // Under `make -k` the cascade says `not remade` at every level; it is
    // neither a diagnostic nor a failure line.
    let r = assert_nothing(
        "make[3]: Target '__default' not remade because of errors.
make[2]: Target '__all' not remade because of errors.
make[1]: *** Waiting for unfinished jobs....
make: Target '__all' not remade because of errors.
make[2]: [Makefile:12: optional] Error 1 (ignored)
",
    );
    assert!(r.make_failures.is_empty());
}

#[test]
fn trap_tool_chatter() {
    // Environment notices and tool chatter (docs/diagnostics.md).
    assert_nothing(
        "libbpf: failed to find '.BTF' ELF section in vmlinux
Error: failed to load BTF from vmlinux: No data available
Makefile.config:709: Warning: Disabled BPF skeletons as clang (clang) is missing
Makefile.config:804: slang not found, disables TUI support. Please install slang-devel, libslang-dev or libslang2-dev
make[1]: warning: jobserver unavailable: using -j1.  Add '+' to parent make rule.
/usr/bin/ld: NOTE: This behaviour is deprecated and will be removed in a future version of the linker
Warning: you seem to have a broken 32-bit build environment. This will reduce test coverage of 64-bit kernels.
\x1b[33mWarning\x1b[0m: you seem to have a broken 32-bit build environment.
2024/11/28 02:43:30 socat-internal[881] W waitpid(-1, {}, WNOHANG): no child has exited
W: Requested gcc-12, but versioned toolchains are not supported by the null runtime.
Value of CONFIG_KERNEL_XZ is redefined by fragment ../kernel/configs/tiny.config:
",
    );
}

#[test]
fn trap_source_lines_echoed_under_a_diagnostic() {
    // gcc >= 9 gutter, then older gcc without gutter: the echoed source
    // contains `error:` labels and strings; grep counts them, we do not.
    let log = "\
drivers/foo.c:120:1: warning: label ‘error’ defined but not used [-Wunused-label]
  120 | error:
      | ^~~~~
drivers/foo.c:130:3: warning: this ‘if’ clause does not guard... [-Wmisleading-indentation]
  130 |   pr_err(\"error: bad value %d\\n\", v);
      |   ^~~~~~
drivers/bar.c:50:1: warning: label ‘error’ defined but not used [-Wunused-label]
error: /* old gcc echoes the raw line */
^
drivers/bar.c:60:2: warning: statement with no effect
  pr_err(\"warning: x\\n\");
  ^
drivers/bar.c:70:2: note: in expansion of macro ‘CHECK’
error: /* the note's own echo */
^~~~~
";
    let r = diag(log);
    assert_eq!((r.warnings, r.errors), (4, 0), "{:#?}", r.diagnostics);
    assert!(r.errors_raw >= 2);
    assert_raw(log, &r);
}

#[test]
fn trap_summaries() {
    let r = assert_nothing(
        "1 error generated.
5 errors generated.
2 warnings generated.
1 warning and 1 error generated.
collect2: error: ld returned 1 exit status
clang: error: linker command failed with exit code 1 (use -v to see invocation)
error: aborting due to 2 previous errors; 1 warning emitted
warning: 3 warnings emitted
error: command '/usr/local/bin/sccache' failed with exit code 1
",
    );
    assert_eq!(r.errors_raw, 4);
}

// ---------------------------------------------------------------------
// Deduplication
// ---------------------------------------------------------------------

#[test]
fn one_header_error_through_many_includers_is_one() {
    let mut log = String::new();
    for (i, tu) in ["filemap", "oom_kill", "fadvise", "page-writeback", "swap"]
        .iter()
        .enumerate()
    {
        let prefix = if i == 3 {
            "/builds/linux/lib/../"
        } else {
            "/builds/linux/"
        };
        log += &format!(
            "In file included from {prefix}mm/internal.h:22,\n                 from /builds/linux/mm/{tu}.c:52:\n\
{prefix}mm/vma.h: In function 'init_vma_munmap':\n\
{prefix}mm/vma.h:184:26: error: 'USER_PGTABLES_CEILING' undeclared (first use in this function)\n\
  184 |         vms->unmap_end = USER_PGTABLES_CEILING;\n      |                          ^~~~~~~~~~~~~~~~~~~~~\n\
{prefix}mm/vma.h:184:26: note: each undeclared identifier is reported only once for each function it appears in\n\
make[4]: *** [/builds/linux/scripts/Makefile.build:244: mm/{tu}.o] Error 1\n"
        );
    }
    let r = diag(&log);
    assert_eq!(r.errors, 1, "{:#?}", r.diagnostics);
    assert_eq!(r.diagnostics[0].file.as_deref(), Some("mm/vma.h"));
    assert_eq!(r.diagnostics[0].occurrences, 5);
    assert_eq!(r.errors_raw, 5);
    let fail = r.excerpt(ExcerptKind::Fail).expect("fail excerpt");
    assert!(fail.starts_with("In file included from /builds/linux/mm/internal.h:22,\n                 from /builds/linux/mm/filemap.c:52:\n"));
    assert_eq!(
        fail.matches("error: 'USER_PGTABLES_CEILING'").count(),
        1,
        "{fail}"
    );
}

#[test]
fn path_and_quote_spellings_of_one_warning_are_one() {
    let log = "\
STARTING AUTOMATED TESTS

DEFAULT OPTIONS:
BUILD_DIR = /dev/shm/stable_test_6.1_daCG4/linux
MAKE_CMD = make CC=\"ccache gcc\"
OUTPUT_DIR = /dev/shm/stable_test_6.1_daCG4/linux/output

RUNNING TEST 1 of 1 with option build tinyconfig

make CC=\"ccache gcc\" O=/dev/shm/stable_test_6.1_daCG4/linux/output -j2 ... make[1]: Entering directory '/dev/shm/stable_test_6.1_daCG4/linux/output'
../include/linux/utsname.h:80:12: warning: ‘utsname_debug_hook’ defined but not used [-Wunused-function]
./include/linux/utsname.h:80:12: warning: 'utsname_debug_hook' defined but not used [-Wunused-function]
/dev/shm/stable_test_6.1_daCG4/linux/include/linux/utsname.h:80:12: warning: ‘utsname_debug_hook’ defined but not used
include/linux/utsname.h:80:12: warning: \u{e2}\u{80}\u{98}utsname_debug_hook\u{e2}\u{80}\u{99} defined but not used [-Wunused-function]
/dev/shm/stable_test_6.1_daCG4/linux/output/include/generated/autoconf.h:3:9: warning: x
include/generated/autoconf.h:3:9: warning: x
";
    let r = diag(log);
    assert_eq!(r.warnings, 2, "{:#?}", r.diagnostics);
    assert_eq!(r.diagnostics[0].occurrences, 4);
    assert_eq!(
        r.diagnostics[1].file.as_deref(),
        Some("include/generated/autoconf.h")
    );
}

#[test]
fn warnings_repeated_by_make_passes_count_once() {
    // TuxMake re-runs make for each target: Kconfig and `#warning` lines
    // come back in every pass.
    let pass = "\
WARNING: unmet direct dependencies detected for GET_FREE_REGION
  Depends on [n]: SPARSEMEM [=n]
  Selected by [y]:
  - RESOURCE_KUNIT_TEST [=y] && RUNTIME_TESTING_MENU [=y] && KUNIT [=y]
<stdin>:1519:2: warning: #warning syscall clone3 not implemented [-Wcpp]
";
    let mut log = String::new();
    for target in ["olddefconfig", "", "zImage", "modules"] {
        log += &format!("make --silent --keep-going --jobs=8 O=/home/tuxbuild/.cache/tuxmake/builds/1/build ARCH=arm {target}\n{pass}");
    }
    let r = diag(&log);
    assert_eq!(r.warnings, 2);
    assert_eq!(r.warnings_by_kind.get("kconfig"), Some(&1));
    assert_eq!(r.warnings_by_kind.get("compiler"), Some(&1));
    assert_eq!(r.warnings_raw, 8, "`WARNING:` is counted by grep too");
    assert!(r.diagnostics.iter().all(|d| d.occurrences == 4));
    assert_raw(&log, &r);
}

#[test]
fn interleaved_jobs_keep_context_and_counts() {
    // -j2: another job's progress lines split the context from its head and
    // the caret block; the make failure comes later.
    let log = "\
../kernel/sys.c: In function ‘__do_sys_getpid’:
  CC      arch/x86/mm/pat/set_memory.o
  CC      kernel/fork.o
../kernel/sys.c:953:41: error: ‘ktest_pid_offset’ undeclared (first use in this function)
  953 |         return task_tgid_vnr(current) + ktest_pid_offset;
  CC      kernel/exit.o
      |                                         ^~~~~~~~~~~~~~~~
In file included from ../kernel/fork.c:1105:
  AS      arch/x86/entry/entry_64.o
../include/linux/utsname.h:80:12: warning: ‘utsname_debug_hook’ defined but not used [-Wunused-function]
make[3]: *** [../scripts/Makefile.build:255: kernel/sys.o] Error 1
make[2]: *** Waiting for unfinished jobs....
  CC      kernel/softirq.o
In file included from ../kernel/exit.c:55:
../include/linux/utsname.h:80:12: warning: ‘utsname_debug_hook’ defined but not used [-Wunused-function]
make: *** [Makefile:250: __sub-make] Error 2
";
    let r = diag(log);
    assert_eq!((r.warnings, r.errors), (1, 1));
    let fail = r.excerpt(ExcerptKind::Fail).expect("fail excerpt");
    let want = "\
../kernel/sys.c: In function ‘__do_sys_getpid’:
../kernel/sys.c:953:41: error: ‘ktest_pid_offset’ undeclared (first use in this function)
  953 |         return task_tgid_vnr(current) + ktest_pid_offset;
      |                                         ^~~~~~~~~~~~~~~~
In file included from ../kernel/fork.c:1105:
../include/linux/utsname.h:80:12: warning: ‘utsname_debug_hook’ defined but not used [-Wunused-function]
make[3]: *** [../scripts/Makefile.build:255: kernel/sys.o] Error 1
make: *** [Makefile:250: __sub-make] Error 2";
    assert_eq!(fail, want);
}

#[test]
fn timestamp_prefixes_change_nothing() {
    let plain = "\
./include/linux/stddef.h:11:9: error: cannot use keyword ‘false’ as enumeration constant
   11 |         false   = 0,
      |         ^~~~~
./include/linux/types.h:30:1: warning: useless type name in empty declaration
  CC      drivers/base/error.o
make[3]: *** [scripts/Makefile.build:244: arch/x86/realmode/rm/wakemain.o] Error 1
";
    let stamped: String = plain
        .lines()
        .enumerate()
        .map(|(i, l)| format!("00:{:02}:{:02} {l}\n", i / 60, i % 60))
        .collect();
    let (a, b) = (diag(plain), diag(&stamped));
    assert_eq!(rows(&a), rows(&b));
    assert_eq!(
        (a.warnings_raw, a.errors_raw),
        (b.warnings_raw, b.errors_raw)
    );
    assert_eq!((b.warnings, b.errors), (1, 1));
}

// ---------------------------------------------------------------------
// ktest steps and runs
// ---------------------------------------------------------------------

fn ktest_run(config_out: &str, build_out: &[&str], ending: &str) -> String {
    let mut s = String::from(
        "\n\nSTARTING AUTOMATED TESTS\n\nDEFAULT OPTIONS:\nBUILD_DIR = /dev/shm/st/linux\nBUILD_OPTIONS = -j2\nMAKE_CMD = KBUILD_BUILD_TIMESTAMP='' make CC=\"ccache gcc\"\nOUTPUT_DIR = /dev/shm/st/linux/output\n\nTEST 1 OPTIONS\nTEST_TYPE[1] = build\n\n\nRUNNING TEST 1 of 1 with option build tinyconfig\n\n",
    );
    let mc = "KBUILD_BUILD_TIMESTAMP='' make CC=\"ccache gcc\" O=/dev/shm/st/linux/output";
    s += &format!("{mc} mrproper ... make[1]: Entering directory '/dev/shm/st/linux/output'\nmake[1]: Leaving directory '/dev/shm/st/linux/output'\n[3 seconds] SUCCESS\n");
    s += &format!("{mc} tinyconfig ... make[1]: Entering directory '/dev/shm/st/linux/output'\n{config_out}make[1]: Leaving directory '/dev/shm/st/linux/output'\n[5 seconds] SUCCESS\n");
    for out in build_out {
        s += &format!(
            "{mc} -j2 ... make[1]: Entering directory '/dev/shm/st/linux/output'\n{out}{ending}"
        );
    }
    s
}

#[test]
fn ktest_counts_compiler_kinds_from_the_final_build_only() {
    let config_out = "\
  HOSTCC  scripts/kconfig/conf.o
../scripts/kconfig/conf.c:10:5: warning: host tool warning in a config step [-Wfoo]
.config:1309:warning: override: UNWINDER_GUESS changes choice state
";
    let log = ktest_run(
        config_out,
        &[
            "../init/main.c:1:1: warning: from an earlier build step\n[10 seconds] SUCCESS\n",
            "../init/main.c:2:2: warning: from the final build\n../init/main.c:3:3: warning: another\n",
        ],
        "make[1]: Leaving directory '/dev/shm/st/linux/output'\n[20 seconds] SUCCESS\n",
    );
    let r = diag(&log);
    assert_eq!(
        rows(&r),
        vec![
            row(
                Kconfig,
                W,
                Some(".config"),
                Some(1309),
                "override: UNWINDER_GUESS changes choice state"
            ),
            row(
                Compiler,
                W,
                Some("init/main.c"),
                Some(2),
                "from the final build"
            ),
            row(Compiler, W, Some("init/main.c"), Some(3), "another"),
        ]
    );
    // Raw counts are grep's: the whole file.
    assert_eq!(r.warnings_raw, 5);
}

#[test]
fn ktest_reruns_describe_the_last_run() {
    let failed = ktest_run(
        "",
        &["../kernel/sys.c:953:41: error: ‘x’ undeclared\nmake[3]: *** [../scripts/Makefile.build:255: kernel/sys.o] Error 1\n"],
        "[14 seconds] FAILED!\nCRITICAL FAILURE... [TEST 1] failed build\n",
    );
    let clean = ktest_run(
        "",
        &["  CC      kernel/sys.o\n"],
        "make[1]: Leaving directory '/dev/shm/st/linux/output'\n[20 seconds] SUCCESS\n",
    );
    let r = diag(&format!("{failed}{clean}"));
    assert_eq!((r.warnings, r.errors), (0, 0), "{:#?}", r.diagnostics);
    assert!(r.make_failures.is_empty());
    assert_eq!(r.errors_raw, 1, "raw counts cover the whole file");
    assert_eq!(
        r.excerpt(ExcerptKind::Fail),
        r.excerpt(ExcerptKind::Tail),
        "nothing failed in the last run"
    );
    let r = diag(&format!("{clean}{failed}"));
    assert_eq!(r.errors, 1);
}

#[test]
fn ktest_death_in_a_config_step_counts_that_step() {
    let log = ktest_run(
        "arch/x86/Kconfig:12: syntax error\nmake[2]: *** [../scripts/kconfig/Makefile:77: tinyconfig] Error 1\n",
        &[],
        "",
    ) + "[2 seconds] FAILED!\nCRITICAL FAILURE... [TEST 1] failed make config\n";
    let r = diag(&log);
    assert_eq!(
        rows(&r),
        vec![row(
            Kconfig,
            E,
            Some("arch/x86/Kconfig"),
            Some(12),
            "syntax error"
        )]
    );
    assert!(r
        .excerpt(ExcerptKind::Fail)
        .expect("fail")
        .starts_with("arch/x86/Kconfig:12: syntax error"));
}

// ---------------------------------------------------------------------
// Odd input
// ---------------------------------------------------------------------

#[test]
fn crlf_no_final_newline_and_empty_input() {
    let r = diag("a.c:1:2: warning: x\r\nb.c:3:4: error: y\r\nmake: *** [Makefile:1: all] Error 2");
    assert_eq!((r.warnings, r.errors), (1, 1));
    assert_eq!(r.lines, 3);
    assert_eq!(r.diagnostics[0].message, "x");
    let r = diag("");
    assert_eq!((r.lines, r.warnings_raw, r.warnings), (0, 0, 0));
    for k in [ExcerptKind::Fail, ExcerptKind::Warnings, ExcerptKind::Tail] {
        assert_eq!(r.excerpt(k), None);
    }
}

#[test]
fn raw_counts_stay_exact_on_lines_over_a_megabyte() {
    let mut log = vec![b'x'; (1 << 20) - 4];
    log.extend_from_slice(b"WARNING: modpost: a very long line"); // straddles the cut
    log.extend(std::iter::repeat_n(b'y', 600_000));
    log.extend_from_slice(b" error: \n");
    log.extend(std::iter::repeat_n(b'z', 3 << 20));
    log.extend_from_slice(b"warn");
    log.extend_from_slice(b"ing: split across reads\nnext line warning: too\n");
    let mut e = Engine::new();
    let st = scan("big.log", &log[..], &mut [&mut e]).expect("scan");
    let r = e.finish();
    assert_eq!(st.lines, 3);
    assert_eq!((r.warnings_raw, r.errors_raw), (3, 1));
    for k in [ExcerptKind::Fail, ExcerptKind::Warnings, ExcerptKind::Tail] {
        if let Some(x) = r.excerpt(k) {
            assert!(x.chars().count() <= 16384);
        }
    }
}

#[test]
fn missing_tools_count_as_toolchain_errors() {
    let cases: [(&str, &str, &str); 6] = [
        (
            "/bin/sh: 1: gcc-15: not found\nmake[2]: *** [scripts/Makefile.host:95: scripts/basic/fixdep] Error 127\nmake: *** [Makefile:250: __sub-make] Error 2\n",
            "/bin/sh: 1: gcc-15: not found",
            "gcc-15: not found",
        ),
        (
            "make[1]: gcc-15: Command not found\nmake[1]: *** [Makefile:12: x] Error 127\n",
            "make[1]: gcc-15: Command not found",
            "gcc-15: Command not found",
        ),
        (
            "/bin/sh: 1: clang: not found\nmake[4]: *** [Makefile:182: /build/kselftest/bpf/test.o] Error 127\n",
            "/bin/sh: 1: clang: not found",
            "clang: not found",
        ),
        (
            "scripts/Kconfig.include:39: C compiler 'gcc-99' not found\nmake[4]: *** [../scripts/kconfig/Makefile:77: allnoconfig] Error 1\n",
            "scripts/Kconfig.include:39: C compiler 'gcc-99' not found",
            "C compiler 'gcc-99' not found",
        ),
        (
            "error: unknown target triple 'bogus64', please use -triple or -arch\nmake[2]: *** [../scripts/Makefile.build:255: scripts/mod/empty.o] Error 1\n",
            "error: unknown target triple 'bogus64', please use -triple or -arch",
            "unknown target triple 'bogus64', please use -triple or -arch",
        ),
        (
            "ccache: error: Could not find compiler \"gcc-99\" in PATH\nmake[2]: *** [scripts/Makefile.build:250: init/main.o] Error 1\n",
            "ccache: error: Could not find compiler \"gcc-99\" in PATH",
            "Could not find compiler \"gcc-99\" in PATH",
        ),
    ];
    for (log, env, message) in cases {
        let r = diag(log);
        assert_eq!(r.errors, 1, "{log}: {:#?}", r.diagnostics);
        assert_eq!(r.code_errors(), 0, "{log}");
        assert_eq!(r.errors_by_kind.get("toolchain"), Some(&1), "{log}");
        assert_eq!(r.diagnostics[0].message, message, "{log}");
        // The cause only: make's `Error 127` after it adds nothing.
        assert_eq!(r.environment_failures, vec![env.to_string()], "{log}");
        let fail = r.excerpt(ExcerptKind::Fail).expect("excerpt");
        assert!(fail.starts_with(env), "{fail}");
    }
    // Kconfig's unsupported-compiler check: two lines, two diagnostics.
    let r = diag("/bin/true: unknown C compiler\nscripts/Kconfig.include:44: Sorry, this C compiler is not supported.\nmake[4]: *** [../scripts/kconfig/Makefile:77: allnoconfig] Error 1\n");
    assert_eq!(r.errors_by_kind.get("toolchain"), Some(&2));
    assert_eq!(r.code_errors(), 0);
}

#[test]
fn tool_script_and_make_warnings_count() {
    let r = diag("Warning: Kernel ABI header at 'tools/include/uapi/linux/bpf.h' differs from latest version at 'include/uapi/linux/bpf.h'
\x1b[0;33mWarning\x1b[0m: Kernel ABI header differences:
  diff -u tools/include/uapi/linux/const.h include/uapi/linux/const.h
../init/Makefile:65: warning: overriding recipe for target 'harvest-twice'
../init/Makefile:64: warning: ignoring old recipe for target 'harvest-twice'
/builds/9400817560/workdir/scripts/bpf_doc.py:55: SyntaxWarning: invalid escape sequence '\\w'
");
    assert_eq!(
        rows(&r),
        vec![
            row(Other, W, None, None, "Kernel ABI header at 'tools/include/uapi/linux/bpf.h' differs from latest version at 'include/uapi/linux/bpf.h'"),
            row(Other, W, None, None, "Kernel ABI header differences:"),
            row(Make, W, Some("init/Makefile"), Some(65), "overriding recipe for target 'harvest-twice'"),
            row(Other, W, Some("scripts/bpf_doc.py"), Some(55), "SyntaxWarning: invalid escape sequence '\\w'"),
        ]
    );
    assert_eq!(r.errors, 0);
}

#[test]
fn rsync_errors_count_once_without_their_summary() {
    let r = diag("rsync: [sender] link_stat \"/src/tools/testing/selftests/timers/harvest_missing_file\" failed: No such file or directory (2)
rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [sender=3.2.7]
make[3]: *** [../lib.mk:117: install] Error 23
");
    assert_eq!(r.errors, 1, "{:#?}", r.diagnostics);
    assert_eq!(r.errors_by_kind.get("other"), Some(&1));
    assert!(r.diagnostics[0].message.contains("link_stat"));
}

#[test]
fn make_failure_excerpt_shows_the_free_text_cause_not_the_preamble() {
    let log = "\
--2024-09-05 10:00:01--  https://example.org/linux.tar.gz
Saving to: 'linux.tar.gz': 100%
section_start:1725530401:build
make[1]: Entering directory '/build/out'
  CC      init/main.o
***
*** The present kernel configuration has modules disabled.
*** To use the module feature, please run \"make menuconfig\" etc.
*** to enable CONFIG_MODULES.
***
make[1]: *** [/linux/Makefile:1993: modules_install] Error 1
make: *** [Makefile:250: __sub-make] Error 2
";
    let r = diag(log);
    let fail = r.excerpt(ExcerptKind::Fail).expect("excerpt");
    assert!(
        fail.starts_with("***\n*** The present kernel configuration has modules disabled."),
        "{fail}"
    );
    assert!(!fail.contains("Saving to"), "{fail}");
    assert!(!fail.contains("section_start"), "{fail}");
    assert!(fail.contains("modules_install] Error 1"), "{fail}");

    let log = "make[1]: Entering directory '/build/out'
  GEN     include/generated/harvest.h
Traceback (most recent call last):
  File \"/linux/scripts/gen_harvest.py\", line 11, in <module>
    import harvest_missing_module
ModuleNotFoundError: No module named 'harvest_missing_module'
make[2]: *** [../scripts/Makefile.build:120: include/generated/harvest.h] Error 1
";
    let fail = diag(log).excerpt(ExcerptKind::Fail).expect("excerpt");
    assert!(
        fail.starts_with("Traceback (most recent call last):"),
        "{fail}"
    );
    assert!(
        fail.contains("ModuleNotFoundError: No module named 'harvest_missing_module'\nmake[2]"),
        "{fail}"
    );
}
