/// Errors the bench reports to the user. `code` is stable so scripts can match on it.
struct BenchError: Error, CustomStringConvertible {
    let code: String
    let message: String

    var description: String { "\(code): \(message)" }

    static func connectFailed(_ detail: String) -> BenchError {
        BenchError(code: "bench.connect_failed", message: "no subscriber could connect: \(detail). Is the server running on that host and port?")
    }
    static func upgradeRejected(status: UInt, uri: String) -> BenchError {
        BenchError(code: "bench.upgrade_rejected", message: "the server answered HTTP \(status) instead of 101 for \(uri). Check the token secret (--secret) and the --server kind")
    }
    static func closedBeforeUpgrade() -> BenchError {
        BenchError(code: "bench.closed_before_upgrade", message: "the server closed the connection before the WebSocket upgrade finished")
    }
    static func upgradeTimeout(seconds: Int) -> BenchError {
        BenchError(code: "bench.upgrade_timeout", message: "no WebSocket upgrade answer within \(seconds) s")
    }
    static func publishFailed(_ detail: String) -> BenchError {
        BenchError(code: "bench.publish_failed", message: "publishing failed: \(detail)")
    }
    static func serverProcessUnreadable(pid: Int32) -> BenchError {
        BenchError(code: "bench.server_pid_unreadable", message: "cannot read /proc/\(pid): is --server-pid the server's process id (for nginx: the worker)?")
    }
    static func invalidOption(_ detail: String) -> BenchError {
        BenchError(code: "bench.invalid_option", message: detail)
    }
}
