package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// dumpOpenAPI writes the OpenAPI v3 document of every built-in group
// version the API server serves, one gzip file each, named after the path
// (`apis/apps/v1` -> `apis__apps__v1.json.gz`). kro bundles these so that RGDs
// can be type-checked offline against the real Kubernetes schemas.
func dumpOpenAPI(args []string) int {
	fs := flag.NewFlagSet("dump-openapi", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the API server to read")
	out := fs.String("out", "", "directory to write the documents into (replaced)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *kubeconfig == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "dump-openapi needs -kubeconfig and -out")
		return 2
	}
	if err := writeOpenAPIDocuments(*kubeconfig, *out); err != nil {
		fmt.Fprintln(os.Stderr, "dump-openapi:", err)
		return 1
	}
	return 0
}

func writeOpenAPIDocuments(kubeconfig, out string) error {
	client, err := newClient(kubeconfig)
	if err != nil {
		return err
	}
	paths, err := client.Discovery().OpenAPIV3().Paths()
	if err != nil {
		return fmt.Errorf("list OpenAPI v3 paths: %w", err)
	}
	names := make([]string, 0, len(paths))
	for path := range paths {
		if isBuiltInGroupVersion(path) {
			names = append(names, path)
		}
	}
	slices.Sort(names)

	if err := os.RemoveAll(out); err != nil {
		return fmt.Errorf("clear %s: %w", out, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	for _, path := range names {
		raw, err := paths[path].Schema("application/json")
		if err != nil {
			return fmt.Errorf("fetch %s: %w", path, err)
		}
		// Indented, so that a diff between two Kubernetes versions of the
		// committed data is readable once decompressed.
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, raw, "", " "); err != nil {
			return fmt.Errorf("%s is not JSON: %w", path, err)
		}
		file := filepath.Join(out, strings.ReplaceAll(path, "/", "__")+".json.gz")
		if err := writeGzip(file, pretty.Bytes()); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", file)
	}
	return nil
}

// isBuiltInGroupVersion keeps `api/v1` and `apis/<group>/<version>`, and drops
// the discovery roots and the aggregated or CRD groups a test might add.
func isBuiltInGroupVersion(path string) bool {
	parts := strings.Split(path, "/")
	switch {
	case len(parts) == 2 && parts[0] == "api":
		return true
	case len(parts) == 3 && parts[0] == "apis":
		group := parts[1]
		return !strings.Contains(group, ".") || strings.HasSuffix(group, ".k8s.io")
	default:
		return false
	}
}

// writeGzip compresses deterministically: no name and no time in the
// header, so the same document always gives the same bytes.
func writeGzip(path string, data []byte) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(data); err != nil {
		return fmt.Errorf("compress %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
