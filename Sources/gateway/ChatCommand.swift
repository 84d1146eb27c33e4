import ArgumentParser
import Dispatch
import Foundation
import GatewayChatClient
import NIOPosix
import Synchronization

/// `gateway chat`: two people in two terminals chat through the gateway (core4's chat.py).
/// The protocol work lives in GatewayChatClient (ChatSession, ChatTerminal); this is only the
/// command line and the terminal plumbing.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat from a terminal: each line you type is published; '/typing' signals typing, '/quit' leaves.")

    @Option(name: .long, help: "The gateway's WebSocket URL.")
    var url: String = "ws://127.0.0.1:8080/ws"

    @Option(name: .long, help: "A bearer token (JWT), e.g. from `gateway token`.")
    var token: String

    @Option(name: .long, help: "A principal to send to, e.g. user:bob or group:x. Repeat for several.")
    var to: [String]

    @Option(name: .long, help: "The category of published events.")
    var category: String = "chat.message"

    func validate() throws {
        if to.isEmpty { throw ValidationError("Name at least one recipient with --to, e.g. --to user:bob.") }
    }

    func run() throws {
        let address = try WebSocketURL(parsing: url)
        let session = ChatSession(recipients: to, category: category)
        let token = self.token
        let outcome = BlockingResult()

        // The root command is synchronous, so the async chat runs in a task and we wait for it.
        Task {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            do {
                let client = try await WebSocketClient.connect(
                    host: address.host, port: address.port, path: address.path,
                    headers: [("Authorization", "Bearer \(token)")], group: group)
                printLine("connected to \(url); sending to \(session.recipients.joined(separator: ", ")) (/typing, /quit or Ctrl-D)")
                let ending = try await ChatTerminal.run(client: client, session: session, lines: standardInputLines(),
                                                        print: { printLine($0) })
                outcome.finish(ending == .inputEnded ? 0 : 1)
            } catch let refused as WebSocketUpgradeRefused {
                printLine("! chat.refused: the gateway answered HTTP \(refused.status): \(refused.body)")
                outcome.finish(2)
            } catch {
                printLine("! \(error)")
                outcome.finish(2)
            }
            try? await group.shutdownGracefully()
        }
        let status = outcome.wait()
        if status != 0 { throw ExitCode(status) }
    }
}

private func printLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Standard input, line by line. readLine blocks, so it runs on its own thread; the stream ends
/// at EOF (Ctrl-D).
private func standardInputLines() -> AsyncStream<String> {
    AsyncStream { continuation in
        let reader = Thread {
            while let line = readLine(strippingNewline: true) { continuation.yield(line) }
            continuation.finish()
        }
        reader.start()
    }
}

private final class BlockingResult: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let status = Mutex<Int32>(0)

    func finish(_ status: Int32) {
        self.status.withLock { $0 = status }
        done.signal()
    }

    func wait() -> Int32 {
        done.wait()
        return status.withLock { $0 }
    }
}
