package events

import (
	"strconv"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"
)

// Header keys of a dead-lettered message. The message's own headers
// are kept as they were.
const (
	HeaderError             = "error"
	HeaderOriginalTopic     = "original_topic"
	HeaderOriginalPartition = "original_partition"
	HeaderOriginalOffset    = "original_offset"
	HeaderConsumerGroup     = "consumer_group" // the group whose consumer dead-lettered it
)

// maxReasonBytes bounds the error header: a reason quoting a whole malformed
// payload must not make the dead letter larger than the broker accepts.
const maxReasonBytes = 1024

// DeadLetterHeaders returns the headers for sending original to a dead-letter
// topic: the message's own headers followed by why it failed, where it came from
// and which consumer group gave up on it, so an operator can find and replay it.
func DeadLetterHeaders(original kafka.Message, group string, reason error) []kafka.Header {
	text := "unknown error"
	if reason != nil {
		text = truncateUTF8(reason.Error(), maxReasonBytes)
	}
	headers := make([]kafka.Header, 0, len(original.Headers)+5)
	headers = append(headers, original.Headers...)
	return append(headers,
		kafka.Header{Key: HeaderError, Value: []byte(text)},
		kafka.Header{Key: HeaderOriginalTopic, Value: []byte(original.Topic)},
		kafka.Header{Key: HeaderOriginalPartition, Value: []byte(strconv.Itoa(original.Partition))},
		kafka.Header{Key: HeaderOriginalOffset, Value: []byte(strconv.FormatInt(original.Offset, 10))},
		kafka.Header{Key: HeaderConsumerGroup, Value: []byte(group)},
	)
}

// DeadLetter builds the message to write to the dead-letter topic: the same
// key and value, with DeadLetterHeaders. Topic is left empty for a writer that
// has its topic set.
func DeadLetter(original kafka.Message, group string, reason error) kafka.Message {
	return kafka.Message{
		Key:     original.Key,
		Value:   original.Value,
		Headers: DeadLetterHeaders(original, group, reason),
	}
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
