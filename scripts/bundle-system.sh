# Sourced by scripts/make-bundle.sh and test/test-bundle.sh: what an application bundle leaves to
# the system. is_system SONAME: true for glibc's libraries and the loader, whose parts only work with
# each other and with that loader; every other library a bundle needs is copied into it.
is_system() {
    case "$1" in
        linux-vdso.so.* | linux-gate.so.* | ld-linux*.so.* | ld64.so.* | libc.so.* | libm.so.* | \
            libmvec.so.* | libpthread.so.* | libdl.so.* | librt.so.* | libresolv.so.* | \
            libutil.so.* | libanl.so.* | libnsl.so.* | libBrokenLocale.so.* | libthread_db.so.* | \
            libc_malloc_debug.so.* | libnss_*.so.* | libmemusage.so | libpcprofile.so) return 0 ;;
    esac
    return 1
}
