import Foundation

/// Counts every heap allocation of another process: a small LD_PRELOAD library, compiled here
/// with the system C compiler, replaces malloc, calloc, realloc and the aligned allocators with
/// counting wrappers around glibc's own (`__libc_malloc` …), and keeps the count in a file
/// mapped shared, which the test reads while the process runs.
///
/// Why hand-written: allocation-counting libraries (ordo-one/malloc-interposer, swift-nio's
/// alloc counter) count inside the process that links them; here the counted process is the
/// real gateway binary, and the test process (with swift-testing running other suites in
/// parallel) must not be counted.
struct MallocCounter {
    /// The library to put in LD_PRELOAD.
    let library: String
    /// Where the running process keeps its count (set MALLOC_COUNT_FILE to it).
    let countFile: String

    init(folder: String) throws {
        let source = folder + "/malloc_count.c"
        library = folder + "/libmalloc_count.so"
        countFile = folder + "/malloc.count"
        try Self.source.write(toFile: source, atomically: true, encoding: .utf8)
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        compiler.arguments = ["cc", "-O2", "-shared", "-fPIC", "-o", library, source]
        try compiler.run()
        compiler.waitUntilExit()
        guard compiler.terminationStatus == 0 else { throw TestFailure("cc could not build the malloc counter") }
    }

    var environment: [String: String] { ["LD_PRELOAD": library, "MALLOC_COUNT_FILE": countFile] }

    /// Allocations so far in the counted process.
    func read() throws -> UInt64 {
        let data = try Data(contentsOf: URL(fileURLWithPath: countFile))
        guard data.count >= 8 else { throw TestFailure("the malloc counter file is not set up: \(data.count) bytes") }
        return data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }

    private static let source = #"""
    #define _GNU_SOURCE
    #include <fcntl.h>
    #include <stdatomic.h>
    #include <stdint.h>
    #include <stdlib.h>
    #include <sys/mman.h>
    #include <unistd.h>

    extern void *__libc_malloc(size_t);
    extern void *__libc_calloc(size_t, size_t);
    extern void *__libc_realloc(void *, size_t);
    extern void *__libc_memalign(size_t, size_t);

    static _Atomic uint64_t before_setup;
    static _Atomic uint64_t *counter = &before_setup;

    /* Runs before main, while the process has one thread. */
    __attribute__((constructor)) static void setup(void) {
        const char *path = getenv("MALLOC_COUNT_FILE");
        if (!path) return;
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) return;
        if (ftruncate(fd, sizeof(uint64_t)) != 0) { close(fd); return; }
        void *shared = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (shared == MAP_FAILED) return;
        atomic_store((_Atomic uint64_t *)shared, atomic_load(&before_setup));
        counter = shared;
    }

    static inline void count(void) { atomic_fetch_add_explicit(counter, 1, memory_order_relaxed); }

    void *malloc(size_t size) { count(); return __libc_malloc(size); }
    void *calloc(size_t n, size_t size) { count(); return __libc_calloc(n, size); }
    void *realloc(void *old, size_t size) { count(); return __libc_realloc(old, size); }
    void *memalign(size_t alignment, size_t size) { count(); return __libc_memalign(alignment, size); }
    void *aligned_alloc(size_t alignment, size_t size) { count(); return __libc_memalign(alignment, size); }
    int posix_memalign(void **out, size_t alignment, size_t size) {
        count();
        void *memory = __libc_memalign(alignment, size);
        if (!memory) return 12; /* ENOMEM */
        *out = memory;
        return 0;
    }
    """#
}

/// One keep-alive HTTP/1.1 connection over a blocking socket: a publisher that, like the load
/// client, sends every request on the same connection (a new connection per request would
/// count the accept and the channel set-up in every event).
final class KeepAliveHTTP {
    private let fd: Int32
    private var pending: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw TestFailure("connect to 127.0.0.1:\(port) failed") }
    }

    deinit { close(fd) }

    /// POSTs `body` to `path` and returns the response (status and body).
    func post(_ path: String, token: String, body: String) throws -> RawHTTPResponse {
        let bytes = Array(body.utf8)
        let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(bytes.count)\r\n\r\n"
        try RawHTTP.sendAll(fd, Array(head.utf8) + bytes)
        while true {
            if let end = pending.firstRange(of: [13, 10, 13, 10]) {
                let headText = String(decoding: pending[..<end.lowerBound], as: UTF8.self).lowercased()
                let length = headText.components(separatedBy: "\r\n")
                    .first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if pending.count >= end.upperBound + length {
                    let response = try RawHTTP.parse(Array(pending[..<(end.upperBound + length)]))
                    pending.removeFirst(end.upperBound + length)
                    return response
                }
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &chunk, chunk.count, 0)
            guard count > 0 else { throw TestFailure("the gateway closed the keep-alive connection") }
            pending.append(contentsOf: chunk[0..<count])
        }
    }
}
