import Foundation
import NIOCore
import Synchronization

/// The terminal chat loop: typed lines go out as frames while incoming frames are printed, until
/// the input ends (EOF or "/quit") or the gateway goes away. Input and output are parameters so
/// tests can drive it without a terminal.
public enum ChatTerminal {
    public enum Ending: Equatable, Sendable {
        case inputEnded
        case closedByServer(code: UInt16?, reason: String)
        case connectionLost
    }

    public static func run<Lines: AsyncSequence & Sendable>(
        client: WebSocketClient, session: ChatSession, lines: Lines,
        print: @escaping @Sendable (String) -> Void
    ) async throws -> Ending where Lines.Element == String {
        let quitting = QuitFlag()
        return try await withThrowingTaskGroup(of: Ending.self) { group in
            group.addTask {
                var session = session
                do {
                    for try await line in lines {
                        let input = ChatSession.interpret(line: line)
                        if input == .quit { break }
                        if let frame = session.frame(for: input) { try await client.send(text: frame) }
                    }
                } catch let error as WebSocketClientError where error.code == "ws_client.not_connected" {
                    return .connectionLost
                }
                quitting.set()
                await client.close()
                return .inputEnded
            }
            group.addTask {
                while true {
                    let message: WebSocketMessage
                    do {
                        message = try await client.next(timeout: .hours(1))
                    } catch let error as WebSocketClientError where error.code == "ws_client.timeout" {
                        continue  // an idle chat is normal
                    }
                    switch message {
                    case .text(let text):
                        if let line = session.render(incoming: text) { print(line) }
                    case .binary, .pong:
                        continue
                    case .close(let code, let reason):
                        // After "/quit" this is the echo of our own close, not the server leaving.
                        if quitting.isSet { return .inputEnded }
                        print("! chat.closed: the gateway closed the connection (\(code.map(String.init) ?? "no code")) \(reason)")
                        return .closedByServer(code: code, reason: reason)
                    case .disconnected:
                        if quitting.isSet { return .inputEnded }
                        print("! chat.disconnected: the connection to the gateway was lost")
                        return .connectionLost
                    }
                }
            }
            // Whichever side ends first ends the chat; the reader's cancellation stops stdin.
            let first = try await group.next() ?? .inputEnded
            group.cancelAll()
            if first != .inputEnded { await client.close() }
            return first
        }
    }
}

/// Set once the user asked to leave, so the close echo is not reported as a server-side close.
private final class QuitFlag: Sendable {
    private let value = Atomic(false)

    func set() { value.store(true, ordering: .releasing) }

    var isSet: Bool { value.load(ordering: .acquiring) }
}
