import Foundation

/// The port a `gateway run` child process reports on its output ("gateway listening on
/// HOST:PORT"), read as it arrives. `who` names the process in the failure message.
func readListeningPort(from pipe: Pipe, within seconds: TimeInterval = 30, who: String = "the gateway") throws -> Int {
    var seen = ""
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        let data = pipe.fileHandleForReading.availableData
        if data.isEmpty { break }
        seen += String(decoding: data, as: UTF8.self)
        if let line = seen.split(separator: "\n").first(where: { $0.hasPrefix("gateway listening on ") }),
           let port = line.split(separator: ":").last.flatMap({ Int($0) }) {
            return port
        }
    }
    throw TestFailure("\(who) did not report its port; output: \(seen)")
}
