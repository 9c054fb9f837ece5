// Package sample is the input of the tests of testsummary: go test -json
// runs it and the summary is checked. It is under testdata, so ./... never
// runs it; its failures are on purpose.
package sample

import (
	"os"
	"testing"

	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestPasses(t *testing.T) {
	storagetest.LogRealPart(t, storagetest.PartSQLite)
	t.Log("a log line of a passing test")
}

func TestFails(t *testing.T) {
	t.Run("OK", func(t *testing.T) { t.Log("a log line of a passing subtest") })
	t.Run("ErrWrong", func(t *testing.T) {
		storagetest.LogRealPart(t, storagetest.PartRedis)
		t.Fatal("the answer is 41, want 42")
	})
}

func TestSkips(t *testing.T) {
	for _, name := range []string{"one", "two"} {
		t.Run(name, func(t *testing.T) {
			if os.Getenv("TESTSUMMARY_SAMPLE_URL") == "" {
				t.Skip("TESTSUMMARY_SAMPLE_URL is not set")
			}
		})
	}
	t.Run("other", func(t *testing.T) { t.Skip("another reason") })
}

func TestSkipsSilently(t *testing.T) {
	t.Skip()
}
