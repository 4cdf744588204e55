/// SMS length and billing as Chinese providers count them.
///
/// Every character counts 1 (Chinese, Latin, digit, punctuation, space), the signature
/// with its `【】` and the opt-out suffix included. Up to 70 characters is one segment;
/// longer text is billed in 67-character segments; 500 characters is the hard cap.
public enum SMSLength {
    public static let singleSegmentLimit = 70
    public static let multipartSegmentSize = 67
    public static let maximumLength = 500

    /// Characters as the provider counts them.
    public static func count(_ text: String) -> Int { text.count }

    /// Billed segments for a length; 0 for empty text.
    public static func segments(forLength length: Int) -> Int {
        if length <= 0 { return 0 }
        if length <= singleSegmentLimit { return 1 }
        return (length + multipartSegmentSize - 1) / multipartSegmentSize
    }
}
