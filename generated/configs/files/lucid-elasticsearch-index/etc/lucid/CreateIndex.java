// Idempotent: an existing index is left as it is; any answer but
// created or already there exits 1.
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

public class CreateIndex {
    public static void main(String[] args) throws Exception {
        String index = "lucid-sessions";
        URI uri = URI.create("http://127.0.0.1:9200/" + index);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpRequest head = HttpRequest.newBuilder(uri).method("HEAD", HttpRequest.BodyPublishers.noBody()).build();
        if (client.send(head, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
            System.out.println("index " + index + " exists");
            return;
        }
        String settings = "{ \"settings\": { \"number_of_shards\": 1, \"number_of_replicas\": 0 } }";
        HttpRequest put = HttpRequest.newBuilder(uri)
            .header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofString(settings))
            .build();
        HttpResponse<String> created = client.send(put, HttpResponse.BodyHandlers.ofString());
        if (created.statusCode() == 200 || created.body().contains("resource_already_exists_exception")) {
            System.out.println("index " + index + " ready");
            return;
        }
        System.err.println("creating index " + index + ": HTTP " + created.statusCode() + " " + created.body());
        System.exit(1);
    }
}
