import ArgumentParser
import Foundation
import NIOCore
import Synchronization

/// Scenario 5: the fan-out run while the server receives SIGHUP every few seconds.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reload", abstract: "Fan-out while sending SIGHUP to the server.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var load: LoadOptions

    @Option(help: "Subscribers on the topic.")
    var subscribers: Int = 1_000

    @Option(help: "PID that receives SIGHUP (default: --server-pid; for nginx: the master).")
    var reloadPid: Int32?

    @Option(help: "Seconds between two SIGHUPs.")
    var reloadInterval: Double = 2

    func run() throws {
        guard let pid = reloadPid ?? connection.serverPid else {
            throw ValidationError("reload needs --server-pid or --reload-pid")
        }
        guard reloadInterval > 0 else { throw ValidationError("--reload-interval must be > 0") }
        let shape = LoadShape(
            name: "reload", subscribers: subscribers,
            subscriberAudience: { _ in .fanout },
            eventAudience: { _, _ in .fanout },
            broadcast: true, defaultWindowEvents: 16
        )
        let hangups = PeriodicHangup(pid: pid, interval: reloadInterval)
        try runReportingErrors { try LoadRun(connection: connection, load: load).execute(shape, sideEffect: hangups).print() }
    }
}

// @unchecked: `task` is set by start() and cancelled by stop(), called in that order by the bench's thread.
final class PeriodicHangup: LoadSideEffect, @unchecked Sendable {
    private let pid: Int32
    private let interval: Double
    private let sent = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)
    private var task: RepeatedTask?

    init(pid: Int32, interval: Double) {
        self.pid = pid
        self.interval = interval
    }

    func start(on loop: EventLoop) {
        let delay = TimeAmount.milliseconds(Int64(interval * 1000))
        task = loop.scheduleRepeatedTask(initialDelay: delay, delay: delay) { _ in
            if kill(self.pid, SIGHUP) == 0 {
                self.sent.add(1, ordering: .relaxed)
            } else {
                self.failed.add(1, ordering: .relaxed)
            }
        }
    }

    func stop() {
        task?.cancel()
    }

    func report(into report: inout Report, published: Int) {
        report.add("reload_pid", .int(Int(pid)))
        report.add("sighups_sent", .int(sent.load(ordering: .relaxed)))
        report.add("sighups_failed", .int(failed.load(ordering: .relaxed)))
    }
}
