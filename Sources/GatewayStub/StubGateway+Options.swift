import Delivery
import Foundation

extension StubGateway {
    /// Help for the options ``parseOptions(_:)`` accepts (`policypush stub --help`).
    public static let optionsHelp: String = """
        Options of `policypush stub`:
          --kind aliyun|tencent|wechat|generic   provider to imitate (required)
          --port N                    port on 127.0.0.1; 0 picks a free one (default 0)
          --credentials FILE          JSON with accessKeyId, accessKeySecret, secretId, secretKey, smsSdkAppId,
                                      appId, appSecret, pushToken, bearerToken; missing keys keep test defaults
          --bearer-token TOKEN        generic: require `Authorization: Bearer TOKEN`
          --path PATH                 generic: accept sends on PATH (repeatable; default /sms/send)
          --no-dedupe                 generic: require Idempotency-Key but ignore it (a repeat is accepted
                                      and counted again); default deduplicates
          --seed N                    seed of every fault and receipt draw (default 1)
          --error-rate CODE=RATE      answer CODE at RATE (repeatable); CODE is a provider code, a WeChat
                                      errcode or http:STATUS; CODE|MESSAGE overrides the message
          --rate-limit-rate RATE      rate-limit at RATE: 429 with Retry-After (generic, Aliyun); Tencent
                                      RequestLimitExceeded and WeChat 45011 in HTTP 200, as they answer
          --retry-after SECONDS       Retry-After in seconds (default 1)
          --retry-after-date SECONDS  Retry-After as an HTTP-date SECONDS from now instead
          --latency-ms N              fixed latency of every answer
          --jitter-ms N               uniform extra latency in 0..<N
          --timeout-rate RATE         accept and count the send, answer only after --timeout-ms
          --timeout-ms N              delay of those answers (default 60000)
          --reset-rate RATE           close the connection without answering at RATE
          --slow-rate RATE            accept, deliver, and answer only after --slow-ms
          --slow-ms N                 delay of those answers (default 30000)
          --drop-after-accept-rate RATE  accept and count the send (receipts and records kept), then close
                                      the connection without answering
          --receipts-url URL          push receipts there in the provider's format
          --receipt-delay-ms N        time from acceptance to receipt (default 100)
          --replies-url URL           push recipients' replies there (SmsUp, Tencent reply, generic);
                                      WeChat pushes unsubscribe events to --receipts-url
          --reply-rate RATE           a delivered message's recipient replies at RATE (default 0)
          --reply-text TEXT           what they reply (default T)
          --receipt-batch N           most receipts per push (default 100)
          --duplicate-rate RATE       push a receipt twice at RATE
          --loss-rate RATE            never push a receipt at RATE
          --reorder                   shuffle the receipts within a push
          --failure-rate RATE         receipts report failure at RATE
          --failure-codes A,B         failure codes to draw from (default UNDELIV,MBBLACK; WeChat statuses)
          --time-scale X              multiply provider schedules (re-pushes) by X (default 1)
          --daily-limit N             Aliyun sends per signature+template+number a day (default 50)
          --tencent-daily-limit N     Tencent sends per number a day (default off)
          --token-lifetime SECONDS    WeChat token lifetime (default 7200)
          --token-sends N             WeChat tokens expire after N sends
          --token-grace SECONDS       WeChat classic token overlap after a new fetch (default 300)
        """

    /// Parses `policypush stub` options (see ``optionsHelp``).
    ///
    /// - Throws: ``StubError`` with code `.invalidOption` for an unknown option, a missing or
    ///   malformed value, or a missing `--kind`; `.credentials` for an unreadable credentials file.
    public static func parseOptions(_ args: [String]) throws -> StubConfiguration {
        var configuration = StubConfiguration(kind: .generic)
        var kind: GatewayKind?
        var paths: [String] = []
        var bearer: String?
        var index = 0
        func invalid(_ option: String, _ why: String) -> StubError {
            StubError(code: .invalidOption, message: "\(option): \(why)")
        }
        func value(_ option: String) throws -> String {
            index += 1
            guard index < args.count else { throw invalid(option, "missing value") }
            return args[index]
        }
        func rate(_ option: String) throws -> Double {
            let text = try value(option)
            guard let rate = Double(text), (0...1).contains(rate) else { throw invalid(option, "expected 0...1") }
            return rate
        }
        func integer(_ option: String) throws -> Int {
            let text = try value(option)
            guard let number = Int(text), number >= 0 else { throw invalid(option, "expected a whole number ≥ 0") }
            return number
        }
        func milliseconds(_ option: String) throws -> Duration { .milliseconds(try integer(option)) }

        while index < args.count {
            let option = args[index]
            switch option {
            case "--kind":
                let text = try value(option)
                guard let parsed = GatewayKind(rawValue: text) else { throw invalid(option, "unknown kind") }
                kind = parsed
            case "--port":
                let port = try integer(option)
                guard port <= 65535 else { throw invalid(option, "expected 0...65535") }
                configuration.port = port
            case "--credentials":
                let path = try value(option)
                do {
                    let data = try Data(contentsOf: URL(fileURLWithPath: path))
                    configuration.credentials = try JSONDecoder().decode(StubCredentials.self, from: data)
                } catch {
                    throw StubError(code: .credentials, message: path)
                }
            case "--bearer-token": bearer = try value(option)
            case "--no-dedupe": configuration.genericDeduplicates = false
            case "--path":
                let path = try value(option)
                guard path.hasPrefix("/") else { throw invalid(option, "must start with /") }
                paths.append(path)
            case "--seed":
                let text = try value(option)
                guard let seed = UInt64(text) else { throw invalid(option, "expected an unsigned integer") }
                configuration.faults.seed = seed
            case "--error-rate":
                let text = try value(option)
                guard let equals = text.lastIndex(of: "="), let rate = Double(text[text.index(after: equals)...]),
                    (0...1).contains(rate), equals != text.startIndex
                else { throw invalid(option, "expected CODE=RATE") }
                configuration.faults.errorRates[String(text[..<equals])] = rate
            case "--rate-limit-rate": configuration.faults.rateLimitRate = try rate(option)
            case "--retry-after": configuration.faults.retryAfter = .seconds(try integer(option))
            case "--retry-after-date": configuration.faults.retryAfter = .httpDate(secondsFromNow: try integer(option))
            case "--latency-ms": configuration.faults.latency = try milliseconds(option)
            case "--jitter-ms": configuration.faults.jitter = try milliseconds(option)
            case "--timeout-rate": configuration.faults.timeoutRate = try rate(option)
            case "--timeout-ms": configuration.faults.timeoutDelay = try milliseconds(option)
            case "--reset-rate": configuration.faults.resetRate = try rate(option)
            case "--slow-rate": configuration.faults.slowDeliveredRate = try rate(option)
            case "--slow-ms": configuration.faults.slowDelay = try milliseconds(option)
            case "--drop-after-accept-rate": configuration.faults.dropAfterAcceptRate = try rate(option)
            case "--receipts-url":
                let url = try value(option)
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw invalid(option, "expected an http(s) URL")
                }
                configuration.receipts.url = url
            case "--replies-url":
                let url = try value(option)
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw invalid(option, "expected an http(s) URL")
                }
                configuration.replies.url = url
            case "--reply-rate": configuration.replies.rate = try rate(option)
            case "--reply-text": configuration.replies.text = try value(option)
            case "--receipt-delay-ms": configuration.receipts.delay = try milliseconds(option)
            case "--receipt-batch":
                let size = try integer(option)
                guard size >= 1 else { throw invalid(option, "expected at least 1") }
                configuration.receipts.batchSize = size
            case "--duplicate-rate": configuration.receipts.duplicateRate = try rate(option)
            case "--loss-rate": configuration.receipts.lossRate = try rate(option)
            case "--reorder": configuration.receipts.reorder = true
            case "--failure-rate": configuration.receipts.failureRate = try rate(option)
            case "--failure-codes":
                configuration.receipts.failureCodes = try value(option).split(separator: ",").map(String.init)
            case "--time-scale":
                let text = try value(option)
                guard let scale = Double(text), scale >= 0 else { throw invalid(option, "expected a number ≥ 0") }
                configuration.timeScale = scale
            case "--daily-limit": configuration.limits.aliyunDailyPerNumber = try integer(option)
            case "--tencent-daily-limit": configuration.limits.tencentDailyPerNumber = try integer(option)
            case "--token-lifetime": configuration.tokens.lifetime = .seconds(try integer(option))
            case "--token-sends": configuration.tokens.sendsPerToken = try integer(option)
            case "--token-grace": configuration.tokens.grace = .seconds(try integer(option))
            default:
                throw invalid(option, "unknown option")
            }
            index += 1
        }
        guard let kind else { throw invalid("--kind", "required") }
        configuration.kind = kind
        if !paths.isEmpty { configuration.genericPaths = paths }
        if let bearer { configuration.credentials.bearerToken = bearer }
        return configuration
    }
}
