import Foundation
import ArgumentParser

extension ServerKind: ExpressibleByArgument {}

/// Options every scenario shares: where the server is and how to reach it.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Server kind: gateway or nchan.")
    var server: ServerKind = .gateway

    @Option(help: "Server host (an IPv4 loopback address).")
    var host: String = "127.0.0.1"

    @Option(help: "Server port.")
    var port: Int = 8080

    @Option(help: "HS256 secret used to mint gateway tokens.")
    var secret: String = JWTMinter.developmentSecret

    @Option(help: "Topic (nchan channel id prefix) for the run.")
    var channel: String = "bench-\(getpid())"

    @Option(help: "PID of the server process to sample CPU and RSS from (for nginx: the worker).")
    var serverPid: Int32?

    @Option(help: "Event-loop threads in the client. 1 keeps the client on one core.")
    var threads: Int = 1

    @Option(help: "Connection attempts in flight while connecting subscribers.")
    var connectConcurrency: Int = 256

    @Option(help: "Subscribers per source address (127.0.0.1, .2, ...) so ephemeral ports never run out.")
    var connectionsPerSource: Int = 10_000

    @Option(help: "Seconds to wait after all subscribers are connected, before measuring.")
    var settle: Double = 1.0

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1...65535") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard connectConcurrency >= 1 else { throw ValidationError("--connect-concurrency must be at least 1") }
        guard connectionsPerSource >= 1 else { throw ValidationError("--connections-per-source must be at least 1") }
    }

    func target() -> ServerTarget {
        ServerTarget(kind: server, host: host, port: port, channel: channel, minter: JWTMinter(secret: secret))
    }
}

/// Options of the scenarios that publish (fanout, personal, reload).
struct LoadOptions: ParsableArguments {
    @Option(help: "Events per second to publish; 0 publishes as fast as the --window allows.")
    var rate: Double = 100

    @Option(help: "Seconds to publish for.")
    var duration: Double = 5

    @Option(help: "Most events published but not yet fully delivered; keeps a saturating run from queueing without bound.")
    var window: Int?

    // nchan answers a publish only after it has written the event to every subscriber, so one
    // connection carries one event at a time: 16 keep the publisher from being the limit.
    @Option(help: "Publisher HTTP connections (one request in flight on each).")
    var publishConnections: Int = 16

    @Option(help: "Seconds to wait for the last deliveries after publishing stops.")
    var drainTimeout: Double = 5

    @Option(help: "Extra bytes of text in each event's message.")
    var payloadPadding: Int = 0

    func validate() throws {
        guard rate >= 0 else { throw ValidationError("--rate must be >= 0") }
        guard duration > 0 else { throw ValidationError("--duration must be > 0") }
        guard publishConnections >= 1 else { throw ValidationError("--publish-connections must be at least 1") }
        if let window, window < 1 { throw ValidationError("--window must be at least 1") }
    }
}
