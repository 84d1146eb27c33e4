import GatewayAuth
import GatewayCore
import GatewayJSON
import NIOCore
import Logging
import NIOHTTP1
import NIOPosix

/// POST /api/v1/admin/messengers/<alias>/test {"address": "..."}: the admin console's
/// "send a test message through a messenger" (what `gateway messenger test` does, against the
/// running chain). A messenger blocks on the network, so it runs on the blocking pool.
extension AdminAPI {
    /// An address longer than this is refused before any plugin sees it.
    static let maxAddressBytes = 1024

    func testMessenger(_ alias: String, _ request: APIRequest, by identity: Identity,
                       eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        guard let body = try? JSON.parse(Array(request.body.readableBytesView)),
              let address = body.view["address"].string,
              !address.isEmpty, address.utf8.count <= Self.maxAddressBytes else {
            return eventLoop.makeSucceededFuture(.error(GatewayError(
                code: "admin.bad_request",
                message: "Send {\"address\": \"...\"}: a non-empty string of at most \(Self.maxAddressBytes) bytes.", status: 400)))
        }
        let chain = self.chain.current
        guard chain.hasMessenger(alias) else {
            return eventLoop.makeSucceededFuture(.error(GatewayError(
                code: "admin.unknown_messenger",
                message: "No enabled plugin named '\(alias)' has the messenger capability in the running chain.", status: 404)))
        }
        return blockingPool.runIfActive(eventLoop: eventLoop) { () -> HTTPResponse in
            let outcome = chain.sendTest(alias: alias, address: address)
            let (name, error) = Self.describe(outcome, alias: alias)
            var details: Logger.Metadata = ["messenger": "\(alias)", "address": "\(address)", "outcome": "\(name)"]
            if let error { details["code"] = "\(error.code)" }
            self.audit("messenger.test", by: identity, details)
            if let error { return .error(error) }
            let answer = JSON.object()
            answer.set("messenger", alias)
            answer.set("address", address)
            answer.set("outcome", name)
            return .json(.ok, answer)
        }
    }

    /// sent → 200; refused (a bad address, a permanent refusal) → 422 with the messenger's
    /// code; temporary failure → 502 (the messenger's server did not take it).
    private static func describe(_ outcome: SendOutcome, alias: String) -> (String, GatewayError?) {
        switch outcome {
        case .sent:
            return ("sent", nil)
        case .refused(let code, let reason):
            return ("refused", GatewayError(code: code, message: "'\(alias)' refused the test message: \(reason)", status: 422))
        case .retryLater(let code, let reason):
            return ("retry", GatewayError(code: code, message: "'\(alias)' could not send the test message now: \(reason)", status: 502))
        case .unknownMessenger:  // removed by a reload between the check and the send
            return ("unknown", GatewayError(code: "admin.unknown_messenger", message: "'\(alias)' is no longer loaded.", status: 404))
        }
    }
}
