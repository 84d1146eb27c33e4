#if canImport(Glibc)
import Glibc
#endif
import Histogram
import NIOCore
import Synchronization

/// Counters every connection updates. Atomics rather than a lock: with one client thread they
/// are uncontended, and they let the publisher (maybe on another loop) read progress cheaply.
final class DeliveryStats: Sendable {
    let received = Atomic<Int>(0)
    /// Text frames that held no "bench_ts" (the scan found nothing): counted, not timed.
    let unmarkedFrames = Atomic<Int>(0)
    let liveConnections = Atomic<Int>(0)
    /// Connections that closed while the bench was not shutting them down itself.
    let droppedConnections = Atomic<Int>(0)
    let closeFramesFromServer = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
}

/// Latency samples of one event loop. Kept per loop so recording needs no lock; merged once at
/// the end by hopping onto each loop.
final class LatencyRecorder {
    var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
    var lastReceiveNanos: UInt64 = 0

    @inline(__always)
    func record(sentAtNanos: UInt64, receivedAtNanos: UInt64) {
        // Microseconds: ns precision is noise across two threads, and µs keeps the histogram small.
        let micros = receivedAtNanos > sentAtNanos ? (receivedAtNanos - sentAtNanos) / 1_000 : 0
        _ = histogram.record(Swift.max(micros, 1))
        lastReceiveNanos = receivedAtNanos
    }
}

/// One `LatencyRecorder` per event loop of the client's group.
// @unchecked: the map is fixed in init; each recorder is then touched only on its own loop (or
// by `merged()` on that loop).
final class LatencyRecorders: @unchecked Sendable {
    private let byLoop: [ObjectIdentifier: LatencyRecorder]
    private let loops: [EventLoop]

    init(group: EventLoopGroup) {
        var loops: [EventLoop] = []
        var byLoop: [ObjectIdentifier: LatencyRecorder] = [:]
        for loop in group.makeIterator() {
            loops.append(loop)
            byLoop[ObjectIdentifier(loop)] = LatencyRecorder()
        }
        self.loops = loops
        self.byLoop = byLoop
    }

    func recorder(for loop: EventLoop) -> LatencyRecorder {
        byLoop[ObjectIdentifier(loop)]!
    }

    /// Merges every loop's samples; safe to call from any thread that is not one of the loops.
    func merged() throws -> (histogram: Histogram<UInt64>, lastReceiveNanos: UInt64) {
        var total = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
        var lastReceive: UInt64 = 0
        for loop in loops {
            // The recorder is read on its own loop (a NIOLoopBound made here, off the loop, traps).
            let snapshot = try loop.submit { [self] in
                let recorder = self.recorder(for: loop)
                return (recorder.histogram, recorder.lastReceiveNanos)
            }.wait()
            total.add(snapshot.0)
            lastReceive = Swift.max(lastReceive, snapshot.1)
        }
        return (total, lastReceive)
    }
}

@inline(__always)
func realtimeNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
