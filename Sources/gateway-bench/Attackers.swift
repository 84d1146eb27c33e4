import CEpoll
import Foundation
import NIOCore
import Synchronization

/// The hostile clients of the `hostile` scenario, on one thread with raw non-blocking sockets
/// (none of them speaks the protocol properly, so no NIO pipeline). They run in a process of
/// their own (`gateway-bench attack`, started by `hostile`), so they never take CPU from the
/// honest subscribers in the bench's process:
///
/// - pipeliners write pipelined `GET /metrics` and history requests as fast as the server takes
///   them and never read (a 4 KiB receive buffer);
/// - half-open clients send part of a request head, then one more byte every few seconds
///   (slowloris); closed by the server, they come back;
/// - idle clients connect and send nothing, up to `idle` sockets; closed by the server (the
///   connection limit makes room by closing the oldest of them), they come back.
///
/// Reconnects are paced (at most `reconnectsPerSecond`) so the attack is a steady pressure, not
/// a SYN flood measuring the kernel. The sockets wait in one epoll set: a round costs the sockets
/// that have news, not all of them (polling 3,220 sockets every round took 37 % of a core).
final class Attackers: @unchecked Sendable {  // state is owned by the attack thread; counters are atomics
    struct Plan {
        var pipeliners: Int
        var halfOpen: Int
        var idle: Int
        var reconnectsPerSecond: Int
        /// Source address of every attacker socket (keeps their ports apart from the honest clients').
        var sourceAddress: String
        var historyToken: String
    }

    private enum Kind { case pipeliner, halfOpen, idle }

    private struct Attacker {
        let kind: Kind
        var fd: Int32 = -1
        var nextTrickle: Double = 0
        var sendOffset = 0
    }

    let plan: Plan
    private let host: String
    private let port: Int
    private let stop = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    let bytesSent = Atomic<Int>(0)
    let connects = Atomic<Int>(0)
    let connectFailures = Atomic<Int>(0)
    let closedByServer = Atomic<Int>(0)
    let openNow = Atomic<Int>(0)
    let peakOpen = Atomic<Int>(0)

    /// The pipelined requests, repeated to about 64 KiB so one send() call moves a lot.
    private let pipelined: [UInt8]
    private let pipelinedPattern: Int
    private static let partialHead = Array("GET /api/v1/notifications HTTP/1.1\r\nHost: bench\r\nX-Slow: ".utf8)

    init(plan: Plan, host: String, port: Int) {
        self.plan = plan
        self.host = host
        self.port = port
        let metrics = "GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n"
        let history = "GET /api/v1/notifications HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer \(plan.historyToken)\r\n\r\n"
        let pattern = Array((String(repeating: metrics, count: 32) + String(repeating: history, count: 4)).utf8)
        pipelinedPattern = pattern.count
        pipelined = Array(repeating: pattern, count: max(1, 65536 / pattern.count)).flatMap { $0 }
    }

    func start() {
        let thread = Thread { [self] in run(); finished.signal() }
        thread.name = "attackers"
        thread.start()
    }

    func stopAndWait() {
        stop.store(true, ordering: .relaxed)
        finished.wait()
    }

    private func run() {
        let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed: errno \(errno)")
        defer { Glibc.close(epoll) }
        var attackers = Array(repeating: Attacker(kind: .pipeliner), count: plan.pipeliners)
            + Array(repeating: Attacker(kind: .halfOpen), count: plan.halfOpen)
            + Array(repeating: Attacker(kind: .idle), count: plan.idle)
        let halfOpenRange = plan.pipeliners..<(plan.pipeliners + plan.halfOpen)
        var waitingToConnect = CircularBuffer<Int>(attackers.indices)
        var events = [epoll_event](repeating: epoll_event(), count: 1024)
        var budget = Double(plan.reconnectsPerSecond)
        var last = now()
        while !stop.load(ordering: .relaxed) {
            let time = now()
            budget = min(Double(plan.reconnectsPerSecond), budget + (time - last) * Double(plan.reconnectsPerSecond))
            last = time
            var attempts = waitingToConnect.count
            while budget >= 1, attempts > 0, let index = waitingToConnect.popFirst() {
                budget -= 1
                attempts -= 1
                if !open(&attackers[index], index: index, epoll: epoll, at: time) { waitingToConnect.append(index) }
            }
            // The server's close shows as EPOLLRDHUP (answers may sit unread in a pipeliner's
            // buffer, so readable means nothing); writable feeds a pipeliner.
            let ready = epoll_wait(epoll, &events, Int32(events.count), 20)
            for event in events.prefix(max(0, Int(ready))) {
                let index = Int(event.data.u64)
                guard attackers[index].fd >= 0 else { continue }
                if event.events & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                    close(&attackers[index], byServer: true)
                    waitingToConnect.append(index)
                } else if attackers[index].kind == .pipeliner, event.events & EPOLLOUT.rawValue != 0 {
                    if !feed(&attackers[index]) { waitingToConnect.append(index) }
                }
            }
            for index in halfOpenRange where attackers[index].fd >= 0 && time >= attackers[index].nextTrickle {
                attackers[index].nextTrickle = time + 5
                if !send(attackers[index].fd, [UInt8(ascii: "a")]) {
                    close(&attackers[index], byServer: true)
                    waitingToConnect.append(index)
                }
            }
        }
        for index in attackers.indices where attackers[index].fd >= 0 { close(&attackers[index], byServer: false) }
    }

    /// Connects one attacker; false when the connect failed (it is retried later).
    private func open(_ attacker: inout Attacker, index: Int, epoll: Int32, at time: Double) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { connectFailures.add(1, ordering: .relaxed); return false }
        if attacker.kind == .pipeliner {
            var size: Int32 = 4096
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var source = sockaddr_in()
        source.sin_family = sa_family_t(AF_INET)
        source.sin_addr.s_addr = inet_addr(plan.sourceAddress)
        var server = sockaddr_in()
        server.sin_family = sa_family_t(AF_INET)
        server.sin_port = in_port_t(UInt16(port).bigEndian)
        server.sin_addr.s_addr = inet_addr(host)
        let bound = withUnsafePointer(to: &source) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let connected = bound == 0 && withUnsafePointer(to: &server) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
        var event = epoll_event()
        event.events = EPOLLRDHUP.rawValue | (attacker.kind == .pipeliner ? EPOLLOUT.rawValue : 0)
        event.data.u64 = UInt64(index)
        guard connected, epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0 else {
            Glibc.close(fd)
            connectFailures.add(1, ordering: .relaxed)
            return false
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        attacker.fd = fd
        attacker.sendOffset = 0
        connects.add(1, ordering: .relaxed)
        let open = openNow.add(1, ordering: .relaxed).newValue
        if open > peakOpen.load(ordering: .relaxed) { peakOpen.store(open, ordering: .relaxed) }
        if attacker.kind == .halfOpen {
            attacker.nextTrickle = time + 5
            _ = send(fd, Self.partialHead)
        }
        return true
    }

    /// Writes pipelined requests until the socket takes no more; false when the server closed it.
    private func feed(_ attacker: inout Attacker) -> Bool {
        while true {
            let sent = pipelined[attacker.sendOffset...].withUnsafeBytes {
                Glibc.send(attacker.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else {
                if sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
                    close(&attacker, byServer: true)
                    return false
                }
                return true
            }
            bytesSent.add(sent, ordering: .relaxed)
            // Restart at the buffer's front once the rest is shorter than one pattern.
            attacker.sendOffset += sent
            if pipelined.count - attacker.sendOffset < pipelinedPattern { attacker.sendOffset %= pipelinedPattern }
        }
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent > 0 { bytesSent.add(sent, ordering: .relaxed) }
        return sent > 0 || (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    }

    private func close(_ attacker: inout Attacker, byServer: Bool) {
        Glibc.close(attacker.fd)
        attacker.fd = -1
        openNow.subtract(1, ordering: .relaxed)
        if byServer { closedByServer.add(1, ordering: .relaxed) }
    }

    private func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
