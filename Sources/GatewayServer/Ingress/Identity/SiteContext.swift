import GatewayCore
import GatewayJSON

/// What a site's context service says of the user holding a token — the pyams_chat_ws contract
/// (pyams_chat's `GET /api/chat/context`): a `200` JSON answer
///
///     {"status": "success",
///      "principal": {"id": "users:alice", "title": "Alice",
///                    "principals": ["users:alice", "groups:staff", "system.Everyone", …]},
///      "context": {"*": ["user.login", …]}}
///
/// of which the gateway reads `principal.principals` (required: a list of strings) and
/// `principal.title` (optional). `principal.id` and `context` are not used: the token's `sub` is
/// the connection's id, the plugin chain decides categories.
struct SiteContext: Sendable, Equatable {
    let principals: [String]
    let title: String?

    /// An answer larger than this is refused (`auth.context_bad_answer`): a user's principals
    /// are a few hundred bytes; this bounds what a broken service can make the gateway hold.
    static let maxAnswerBytes = 64 * 1024

    /// The answer's meaning, or the refusal a client sees.
    static func parse(status: Int, body: [UInt8]) -> Result<SiteContext, GatewayError> {
        switch status {
        case 200: break
        case 401, 403: return .failure(ContextFailure.refused(status))
        default: return .failure(ContextFailure.unavailable("the context service answered HTTP \(status)"))
        }
        guard let document = try? JSON.parse(body), document.view.isObject else {
            return .failure(ContextFailure.badAnswer("the answer is not a JSON object"))
        }
        let principal = document.view["principal"]
        guard let principals = principal["principals"].strings else {
            return .failure(ContextFailure.badAnswer("'principal.principals' is missing or not a list of strings"))
        }
        guard principals.allSatisfy({ !$0.isEmpty }) else {
            return .failure(ContextFailure.badAnswer("'principal.principals' holds an empty string"))
        }
        let title = principal["title"].string
        return .success(SiteContext(principals: principals, title: title?.isEmpty == false ? title : nil))
    }
}

/// The `auth.context_*` refusals: what a client sees when its principals cannot be known.
enum ContextFailure {
    /// Every code below starts with it.
    static let codePrefix = "auth.context_"

    /// The service refused the token (401/403): treated like a refused token — HTTP 401, or the
    /// logout frame on `auth_failure_logout_paths`, so pyams_chat's service worker refreshes it.
    static func refused(_ status: Int) -> GatewayError {
        GatewayError(code: "auth.context_refused",
                     message: "The site's context service refused this token (HTTP \(status)); sign in again.", status: 401)
    }
    /// Connection refused, reset, DNS, TLS, or a status other than 200/401/403: 503, retry later.
    static func unavailable(_ why: String) -> GatewayError {
        GatewayError(code: "auth.context_unavailable",
                     message: "The site's context service cannot be reached (\(why)); retry later.", status: 503)
    }
    /// No complete answer within `[auth] context_timeout_seconds` (waiting for a free fetch
    /// thread included): 503, retry later.
    static func timeout(_ seconds: Double) -> GatewayError {
        GatewayError(code: "auth.context_timeout",
                     message: "The site's context service did not answer within \(seconds) s; retry later.", status: 503)
    }
    /// A 200 answer without the contract's shape: 502 (the service is misconfigured).
    static func badAnswer(_ why: String) -> GatewayError {
        GatewayError(code: "auth.context_bad_answer",
                     message: "The site's context service gave an answer the gateway cannot use: \(why).", status: 502)
    }
}
