package integration

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/dump/dumptest"
	"github.com/entitybase/entitybase-workers/workflows"
)

// TestDumpToS3 runs the same dump into a directory and into an S3 bucket (an in-process S3
// server speaking the real protocol, through the worker's s3:// DUMP_URL): the bucket ends up
// with the same objects — the dump file and checksums byte for byte, metadata and latest
// pointer differing only in their times — and no parts or temporary objects.
func TestDumpToS3(t *testing.T) {
	cfg, dir := dumpConfig(t)
	cfg.DumpChunkSize = 50
	saveWikidataFixtures(t, dumpDB(t, cfg), func(int) time.Time { return time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC) })
	ctx := context.Background()
	in := workflows.DumpInput{Format: "json", Flavor: "full", Kind: "full", Date: "20260104"}
	startWorker(t, cfg)
	fileRes := waitDump(t, startDump(t, cfg, "dump-file-"+cfg.TaskQueue, in), 3*time.Minute)

	bucketURL, backend := dumptest.S3(t, "dumps")
	s3cfg := cfg
	s3cfg.DumpURL = bucketURL
	s3cfg.TaskQueue = cfg.TaskQueue + "-s3"
	s3cfg.WorkerID = cfg.WorkerID + "-s3"
	startWorker(t, s3cfg)
	s3Res := waitDump(t, startDump(t, s3cfg, "dump-s3-"+s3cfg.TaskQueue, in), 3*time.Minute)
	assert.Equal(t, fileRes.DumpAssembleResult, s3Res.DumpAssembleResult)
	assert.Equal(t, int64(5), s3Res.EntityCount)

	files, err := dump.OpenFileStore(dir)
	require.NoError(t, err)
	defer files.Close()
	bucket, err := dump.OpenStore(ctx, s3cfg.DumpURL)
	require.NoError(t, err)
	defer bucket.Close()
	want, err := files.List(ctx, "")
	require.NoError(t, err)
	got, err := bucket.List(ctx, "")
	require.NoError(t, err)
	var wantKeys, gotKeys []string
	for _, o := range want {
		wantKeys = append(wantKeys, o.Key)
	}
	for _, o := range got {
		gotKeys = append(gotKeys, o.Key)
	}
	assert.Equal(t, []string{
		"20260104/wikibase-20260104-all.json.gz",
		"20260104/wikibase-20260104-all.json.gz.meta.json",
		"20260104/wikibase-20260104-md5sums.txt",
		"20260104/wikibase-20260104-sha1sums.txt",
		"20260104/wikibase-20260104-sha256sums.txt",
		"latest/wikibase-latest-all.json.gz.pointer.json",
	}, gotKeys)
	require.Equal(t, wantKeys, gotKeys)
	objects := map[string][]byte{}
	for _, key := range gotKeys {
		w, err := dump.ReadAll(ctx, files, key)
		require.NoError(t, err)
		obj, err := backend.GetObject("dumps", key, nil)
		require.NoError(t, err, "%s is in the S3 server", key)
		g, err := io.ReadAll(obj.Contents)
		obj.Contents.Close()
		require.NoError(t, err)
		objects[key] = g
		if !strings.HasSuffix(key, ".json") {
			assert.Equal(t, string(w), string(g), key)
		}
	}
	assert.Len(t, readDumpLines(t, filepath.Join(dir, fileRes.Key)), 5)

	var meta dump.Metadata
	require.NoError(t, json.Unmarshal(objects[s3Res.MetadataKey], &meta))
	assert.Equal(t, s3Res.SnapshotTime, meta.SnapshotTime)
	assert.Equal(t, []any{s3Res.Key, s3Res.SHA256, int64(5), len(objects[s3Res.Key])},
		[]any{meta.Key, meta.SHA256, meta.EntityCount, int(meta.Bytes)})
	var pointer dump.Pointer
	require.NoError(t, json.Unmarshal(objects["latest/wikibase-latest-all.json.gz.pointer.json"], &pointer))
	assert.Equal(t, dump.Pointer{File: s3Res.File, Key: s3Res.Key, MetadataKey: s3Res.MetadataKey, Date: "20260104",
		SnapshotTime: s3Res.SnapshotTime, Bytes: s3Res.Bytes, SHA256: s3Res.SHA256}, pointer)
}
