package org.borderhub.elasticsearch.analysis;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.core.KeywordTokenizer;
import org.apache.lucene.analysis.core.UpperCaseFilter;
import org.apache.lucene.analysis.core.WhitespaceTokenizer;
import org.apache.lucene.analysis.el.GreekLowerCaseFilter;
import org.apache.lucene.analysis.ga.IrishLowerCaseFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.miscellaneous.TrimFilter;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenFilter;
import org.apache.lucene.analysis.ngram.NGramTokenFilter;
import org.apache.lucene.analysis.reverse.ReverseStringFilter;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.analysis.tr.TurkishLowerCaseFilter;
import org.apache.lucene.util.AttributeFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * Registers, under the names and with the options Elasticsearch's analysis-common module uses, the
 * analysis components the Maven Central integ-test-zip lacks. Each one is a thin wrapper around the
 * Lucene class analysis-common itself wraps, so the same index templates index the same way here
 * and on the official image (which has analysis-common, and never loads this plugin).
 */
public class BorderhubAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        Map<String, AnalysisProvider<TokenFilterFactory>> f = new TreeMap<>();
        f.put("asciifolding", (idx, env, name, s) -> {
            boolean preserve = s.getAsBoolean("preserve_original", false);
            // A normalizer must yield exactly one token per input, hence never the preserved original.
            return new Factories.Normalizing(name, in -> new ASCIIFoldingFilter(in, preserve),
                in -> new ASCIIFoldingFilter(in, false));
        });
        f.put("lowercase", (idx, env, name, s) -> {
            String lang = s.get("language");
            return Factories.normalizing(name, switch (lang == null ? "" : lang.toLowerCase(Locale.ROOT)) {
                case "" -> LowerCaseFilter::new;
                case "greek" -> GreekLowerCaseFilter::new;
                case "irish" -> IrishLowerCaseFilter::new;
                case "turkish" -> TurkishLowerCaseFilter::new;
                default -> throw new IllegalArgumentException("language [" + lang + "] not supported for lowercase");
            });
        });
        f.put("uppercase", (idx, env, name, s) -> Factories.normalizing(name, UpperCaseFilter::new));
        f.put("trim", (idx, env, name, s) -> Factories.normalizing(name, TrimFilter::new));
        f.put("unique", (idx, env, name, s) -> {
            boolean samePosition = s.getAsBoolean("only_on_same_position", false);
            return new Factories.Plain(name, in -> new UniqueTokenFilter(in, samePosition));
        });
        f.put("edge_ngram", (idx, env, name, s) -> {
            int min = s.getAsInt("min_gram", 1), max = s.getAsInt("max_gram", 2);
            boolean preserve = s.getAsBoolean("preserve_original", false);
            // side=back (grams from the end) is emulated, as upstream does, by reversing around the filter.
            boolean back = "back".equalsIgnoreCase(s.get("side", "front"));
            return new Factories.Plain(name, in -> back
                ? new ReverseStringFilter(new EdgeNGramTokenFilter(new ReverseStringFilter(in), min, max, preserve))
                : new EdgeNGramTokenFilter(in, min, max, preserve));
        });
        f.put("ngram", (idx, env, name, s) -> {
            int min = s.getAsInt("min_gram", 1), max = s.getAsInt("max_gram", 2);
            Factories.checkNgramDiff(idx, min, max);
            boolean preserve = s.getAsBoolean("preserve_original", false);
            return new Factories.Plain(name, in -> new NGramTokenFilter(in, min, max, preserve));
        });
        f.put("word_delimiter_graph", (idx, env, name, s) -> Factories.wordDelimiter(env, name, s, true));
        f.put("word_delimiter", (idx, env, name, s) -> Factories.wordDelimiter(env, name, s, false));
        return f;
    }

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        Map<String, AnalysisProvider<TokenizerFactory>> t = new TreeMap<>();
        t.put("keyword", (idx, env, name, s) -> {
            int buffer = s.getAsInt("buffer_size", KeywordTokenizer.DEFAULT_BUFFER_SIZE);
            return TokenizerFactory.newFactory(name, () -> new KeywordTokenizer(buffer));
        });
        t.put("whitespace", (idx, env, name, s) -> {
            int max = s.getAsInt("max_token_length", StandardAnalyzer.DEFAULT_MAX_TOKEN_LENGTH);
            return TokenizerFactory.newFactory(name,
                () -> new WhitespaceTokenizer(AttributeFactory.DEFAULT_ATTRIBUTE_FACTORY, max));
        });
        t.put("edge_ngram", (idx, env, name, s) -> Factories.ngramTokenizer(idx, name, s, true));
        t.put("ngram", (idx, env, name, s) -> Factories.ngramTokenizer(idx, name, s, false));
        return t;
    }
}
